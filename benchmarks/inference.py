"""Deployment costs, side by side in one run: latency per format and memory of tiled upscaling.

1. Latency (median of --repeats) of one x4 upscale of a --size² input with 2 threads for
   Keras, the exported SavedModel and TFLite fp32 / fp16 / int8-dynamic / int8, all from one
   SRResNet (--blocks, --filters; weights trained for a few steps so int8 calibration is real).
2. Peak RSS of upscaling a --memory_size² input at x4 whole vs tiled (each in a fresh
   process), and optionally the peak RSS of a tiled --large² upscale (target < 4 GiB at 4096).

  python benchmarks/inference.py [--size=256] [--memory_size=512] [--large=4096]

A whole-image x4 upscale of a 1024² input with this generator needs ~17 GB for one activation
(4096² × 256 channels × 4 bytes), hence the 512² default for the whole-vs-tiled comparison.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

import common  # noqa: F401  (puts the repository on sys.path, quiets TensorFlow)

flags.DEFINE_integer("size", 256, "LR side for the latency comparison.")
flags.DEFINE_integer("blocks", 16, "Generator residual blocks.")
flags.DEFINE_integer("filters", 64, "Generator channels.")
flags.DEFINE_integer("repeats", 5, "Timed runs per format (after one warm-up).")
flags.DEFINE_integer("memory_size", 512, "LR side for the whole vs tiled memory comparison (0: skip).")
flags.DEFINE_integer("tile", 128, "Tile side (LR pixels) for tiled upscaling.")
flags.DEFINE_integer("large", 0, "If set, also measure a tiled upscale of this LR side (e.g. 4096).")
FLAGS = flags.FLAGS
SCALE = 4

# Peak RSS from VmHWM: getrusage's ru_maxrss survives exec on Linux, so a child would report
# its parent's peak when that was larger.
MEMORY_CHILD = """
import sys, numpy as np
from keras_mdsrgan.model import inference
model = inference.load(sys.argv[1])
lr = np.random.default_rng(0).integers(0, 256, (int(sys.argv[2]), int(sys.argv[2]), 3), dtype=np.uint8)
tile = int(sys.argv[3]) or None
out = inference.upscale(model, lr, tile=tile)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) * 1024, out.shape[0])
"""


def train_briefly(path: str) -> None:
    import keras

    from keras_mdsrgan.data import pipelines
    from keras_mdsrgan.model.generators import build_srresnet

    keras.utils.set_random_seed(0)
    generator = build_srresnet(SCALE, FLAGS.filters, FLAGS.blocks)
    generator.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    store = pipelines.build_training_store(["sample:train"], SCALE, 96)
    generator.fit(pipelines.training_dataset(store, 24, 8), steps_per_epoch=20, epochs=1, verbose=0, shuffle=False)
    generator.save(path)


def peak_rss(model: str, size: int, tile: int) -> tuple[float, float]:
    """(peak RSS in GiB, seconds) of one upscale in a fresh process."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, model, str(size), str(tile)],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if result.returncode:
        return float("nan"), time.perf_counter() - start  # e.g. killed when out of memory
    return int(result.stdout.split()[0]) / 2**30, time.perf_counter() - start


def main(argv):
    del argv
    import numpy as np

    from keras_mdsrgan.model import inference

    work = tempfile.mkdtemp(prefix="mdsrgan-bench-")
    keras_path = os.path.join(work, "generator.keras")
    train_briefly(keras_path)
    out = os.path.join(work, "export")
    subprocess.run(
        [sys.executable, "-m", "export", f"--model={keras_path}", f"--out={out}", "--parity_images=1"],
        check=True,
        capture_output=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    paths = {"keras": keras_path, "saved_model": os.path.join(out, "saved_model", "mdsrgan", "1")}
    paths.update(
        {f"tflite_{k}": os.path.join(out, f"generator_{k}.tflite") for k in ("fp32", "fp16", "int8_dynamic", "int8")}
    )
    lr = np.random.default_rng(0).integers(0, 256, (FLAGS.size, FLAGS.size, 3), dtype=np.uint8)
    # TensorFlow uses every core (2 here); LiteRT is given 2 threads. Formats take turns
    # (round-robin) so machine noise hits them alike.
    models = {
        name: inference.TFLiteUpscaler(path, num_threads=2) if path.endswith(".tflite") else inference.load(path)
        for name, path in paths.items()
    }
    times = {name: [] for name in models}
    for model in models.values():
        inference.upscale(model, lr)  # warm-up: tracing, tensor allocation
    for _ in range(FLAGS.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            inference.upscale(model, lr)
            times[name].append(1000 * (time.perf_counter() - start))
    latency = {name: statistics.median(t) for name, t in times.items()}
    print(f"x{SCALE} SRResNet {FLAGS.blocks} blocks x {FLAGS.filters} ch, {FLAGS.size}x{FLAGS.size} input, 2 threads")
    for name, ms in latency.items():
        print(f"  {name:20s} {ms:9.1f} ms   ({ms / latency['keras']:.2f} x Keras)")
    print(f"ratio tflite_fp32 / keras: {latency['tflite_fp32'] / latency['keras']:.2f}  (target <= 1)")
    print(f"ratio tflite_int8 / tflite_fp32: {latency['tflite_int8'] / latency['tflite_fp32']:.2f}  (target <= 0.5)")

    whole = tiled = None
    if FLAGS.memory_size:
        whole, whole_s = peak_rss(keras_path, FLAGS.memory_size, 0)
        tiled, tiled_s = peak_rss(keras_path, FLAGS.memory_size, FLAGS.tile)
        print(
            f"{FLAGS.memory_size}x{FLAGS.memory_size} at x{SCALE}: peak RSS whole {whole:.2f} GiB "
            f"({whole_s:.0f} s), tiled ({FLAGS.tile}) {tiled:.2f} GiB ({tiled_s:.0f} s), "
            f"ratio tiled / whole {tiled / whole:.2f}"
        )
    if FLAGS.large:
        large, large_s = peak_rss(keras_path, FLAGS.large, FLAGS.tile)
        print(
            f"{FLAGS.large}x{FLAGS.large} at x{SCALE}, tiled ({FLAGS.tile}): peak RSS {large:.2f} GiB "
            f"({large_s:.0f} s)  (target < 4 GiB)"
        )
    print(json.dumps({"latency_ms": latency, "peak_rss_gib": {"whole": whole, "tiled": tiled}}))


if __name__ == "__main__":
    app.run(main)
