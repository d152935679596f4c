"""How close generator inference comes to the machine's dense-matmul throughput.

Counts the SRResNet's FLOPs analytically from its convolutions (2 x kernel area x input
channels x output channels x output pixels; BN, PReLU, additions and the pixel shuffle are
left out, < 1% here), times one --size² x4 upscale and one float32 --matmul² matrix product
interleaved round-robin (same threads, same noise), and prints both GFLOP/s and their ratio.

  python benchmarks/flops.py [--size=128] [--blocks=16 --filters=64] [--matmul=2048]
"""

from __future__ import annotations

import os

import tensorflow as tf  # noqa: E402
from absl import app, flags

import common  # puts the repository on sys.path, quiets TensorFlow
from keras_mdsrgan.model.generators import build_srresnet  # noqa: E402

flags.DEFINE_integer("size", 128, "LR side of the timed upscale.")
flags.DEFINE_integer("scale", 4, "Upscaling factor.")
flags.DEFINE_integer("blocks", 16, "Generator residual blocks.")
flags.DEFINE_integer("filters", 64, "Generator channels.")
flags.DEFINE_integer("matmul", 2048, "Side of the square float32 matrices of the reference product.")
flags.DEFINE_integer("repeats", 7, "Timed runs of each (after one warm-up); medians are compared.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    generator = build_srresnet(FLAGS.scale, FLAGS.filters, FLAGS.blocks)
    flops = common.conv_flops(generator, FLAGS.size, FLAGS.size)
    lr = tf.random.uniform([1, FLAGS.size, FLAGS.size, 3])
    a = tf.random.normal([FLAGS.matmul, FLAGS.matmul])
    b = tf.random.normal([FLAGS.matmul, FLAGS.matmul])
    upscale = tf.function(lambda x: generator(x, training=False))
    matmul = tf.function(tf.linalg.matmul)
    runs = {"generator": lambda: upscale(lr).numpy(), "matmul": lambda: matmul(a, b).numpy()}
    work = {"generator": flops, "matmul": 2 * FLAGS.matmul**3}
    medians = common.interleaved_medians(runs, FLAGS.repeats, warmup=1)
    rates = {name: work[name] / (ms / 1000) / 1e9 for name, ms in medians.items()}
    print(f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, median of {FLAGS.repeats} interleaved runs")
    print(
        f"  generator x{FLAGS.scale} ({FLAGS.blocks} blocks, {FLAGS.filters} ch) on {FLAGS.size}²: "
        f"{flops / 1e9:.2f} GFLOP in {medians['generator']:.0f} ms "
        f"-> {rates['generator']:.1f} GFLOP/s"
    )
    print(
        f"  float32 matmul {FLAGS.matmul}²: {work['matmul'] / 1e9:.2f} GFLOP in "
        f"{medians['matmul']:.0f} ms -> {rates['matmul']:.1f} GFLOP/s"
    )
    print(f"ratio generator / matmul GFLOP/s: {rates['generator'] / rates['matmul']:.2f}")


if __name__ == "__main__":
    app.run(main)
