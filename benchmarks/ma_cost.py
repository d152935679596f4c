"""Cost of the Ma et al. score next to NIQE on the same images: time ratio and extra peak memory.

Both are computed on a photo (scikit-image's astronaut, mirrored and tiled to size), timed
round-robin in one process; peak RSS comes from a fresh
process per metric (VmHWM), minus that of a process that only imports the libraries.

  python benchmarks/ma_cost.py [--sizes=256x256,1024x1536] [--repeats=3]
"""

from __future__ import annotations

import os
import subprocess
import sys

from absl import app, flags

import common  # puts the repository on sys.path, quiets TensorFlow

flags.DEFINE_list("sizes", ["256x256", "1024x1536"], "Image sizes HxW.")
flags.DEFINE_integer("repeats", 3, "Timed runs of each metric (after one warm-up); medians are compared.")
FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Peak RSS from VmHWM in a fresh process (getrusage's ru_maxrss survives exec on Linux).
MEMORY_CHILD = """
import sys
from keras_mdsrgan.data import resize  # TensorFlow, as evaluate has it loaded
from keras_mdsrgan.quality import ma, metrics  # TensorFlow, as evaluate has it loaded
sys.path.insert(0, "benchmarks")
from ma_cost import test_image
image = test_image(int(sys.argv[2]), int(sys.argv[3]))
if sys.argv[1] == "ma":
    ma.features(metrics.rgb_to_y(image, rounded=True))
elif sys.argv[1] == "niqe":
    metrics.niqe(image)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) * 1024)
"""


def test_image(height: int, width: int):
    """A photo (scikit-image's astronaut) mirrored and tiled to ``height`` x ``width``."""
    import numpy as np
    from skimage import data

    photo = data.astronaut()
    tile = np.concatenate([photo, photo[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def peak_rss(metric: str, height: int, width: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, metric, str(height), str(width)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if result.returncode:
        sys.exit(f"{metric} child failed: {result.stderr[-500:]}")
    return int(result.stdout.split()[0]) / 2**30


def main(argv):
    del argv
    from keras_mdsrgan.quality import ma, metrics

    print("| size | Ma s | NIQE s | Ma / NIQE time | Ma extra GiB | NIQE extra GiB |")
    print("|---|---|---|---|---|---|")
    for size in FLAGS.sizes:
        height, width = (int(n) for n in size.split("x"))
        image = test_image(height, width)
        luma = metrics.rgb_to_y(image, rounded=True)
        times = common.interleaved_medians(
            {"ma": lambda luma=luma: ma.features(luma), "niqe": lambda image=image: metrics.niqe(image)},
            FLAGS.repeats,
            warmup=1,
        )
        base = peak_rss("none", height, width)
        extra = {m: peak_rss(m, height, width) - base for m in ("ma", "niqe")}
        print(
            f"| {height}x{width} | {times['ma'] / 1000:.2f} | {times['niqe'] / 1000:.2f} | "
            f"{times['ma'] / times['niqe']:.1f} | {extra['ma']:.2f} | {extra['niqe']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    app.run(main)
