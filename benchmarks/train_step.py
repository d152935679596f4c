"""Cost of mutual distillation: median ms per training step, measured side by side.

Times one SRGAN pair, the K=2 cohort in `independent` mode and in `ml` mode, interleaving
their steps (round-robin) so machine noise hits all three alike, and prints
ml / (2 x single). The VGG19 of the perceptual loss is randomly initialised (same cost).

  python benchmarks/train_step.py                 # SRGAN sizes: 16 blocks, 64 ch, batch 16, HR 96
  python benchmarks/train_step.py --preset=small  # a quick look
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from keras_mdsrgan import train_lib  # noqa: E402
from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402

PRESETS = {  # gen_blocks, gen_filters, disc_filters, disc_dense, batch, hr_patch
    "srgan": (16, 64, 64, 1024, 16, 96),
    "small": (4, 32, 16, 128, 8, 48),
}
flags.DEFINE_enum("preset", "srgan", sorted(PRESETS), "Network and batch sizes.")
flags.DEFINE_integer("steps", 10, "Timed steps per configuration (after 2 warm-up steps).")
FLAGS = flags.FLAGS


def make_step(num_pairs: int, mode: str, preset: str):
    """A callable running one training step of a freshly built cohort on a fixed batch."""
    blocks, filters, dfilters, dense, batch, patch = PRESETS[preset]
    config = RunConfig(
        data=DataConfig(scale=4, hr_patch=patch, batch_size=batch),
        model=ModelConfig(num_pairs=num_pairs, gen_filters=filters, gen_blocks=blocks,
                          disc_filters=dfilters, disc_dense=dense),
        loss=LossConfig(mode=mode, vgg_weights="random"),
        train=TrainConfig())
    cohort = train_lib.build_cohort(config)
    lr = tf.random.uniform([batch, patch // 4, patch // 4, 3], seed=1)
    hr = tf.random.uniform([batch, patch, patch, 3], seed=2)
    step = tf.function(cohort.train_step)

    def run():
        logs = step((lr, hr))
        return float(next(iter(logs.values())))  # wait for the step to finish

    return run


def main(argv):
    del argv
    runs = {"single pair": make_step(1, "independent", FLAGS.preset),
            "K=2 independent": make_step(2, "independent", FLAGS.preset),
            "K=2 ml": make_step(2, "ml", FLAGS.preset)}
    times = {name: [] for name in runs}
    for _ in range(2):
        for run in runs.values():
            run()
    for _ in range(FLAGS.steps):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(1000 * (time.perf_counter() - start))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"preset {FLAGS.preset}, {FLAGS.steps} interleaved steps each, {os.cpu_count()} CPU cores")
    for name, ms in medians.items():
        print(f"  {name:16s} {ms:9.1f} ms/step")
    single = medians["single pair"]
    print(f"ratio independent / (2 x single): {medians['K=2 independent'] / (2 * single):.3f}")
    print(f"ratio ml / (2 x single):          {medians['K=2 ml'] / (2 * single):.3f}  (target <= 1.15)")


if __name__ == "__main__":
    app.run(main)
