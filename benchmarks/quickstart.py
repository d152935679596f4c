"""README command 1's training, timed, with its result checked in RGB as well as on Y.

Runs `python -m keras_mdsrgan.train --flagfile=flags/quickstart.cfg` into a fresh run folder,
prints the wall time (training + final evaluation, TensorFlow start-up included) with the CPU
it ran on, and each pair's PSNR against bicubic on the held-out image, on Y (as the tables)
and on RGB (a colour shift shows there first). The budget, 300 s, must hold on the slowest
machine kind (2-core AMD EPYC, AVX2 only, about 3.4x slower for convolutions than Intel
machines with AVX-512).

  python benchmarks/quickstart.py [--run_dir=/tmp/quickstart] [--extra=--nojit_compile]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

from common import machine
from keras_mdsrgan.data import imageio, pipelines
from keras_mdsrgan.quality import metrics

flags.DEFINE_string("run_dir", "/tmp/mdsrgan-quickstart", "Run folder (deleted first).")
flags.DEFINE_multi_string("extra", [], "A train flag added to the command; repeat for more.")
FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_S = 300
SCALE = 4


def main(argv):
    del argv
    shutil.rmtree(FLAGS.run_dir, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_mdsrgan.train",
            "--flagfile=flags/quickstart.cfg",
            f"--run_dir={FLAGS.run_dir}",
            "--verbosity=-1",
            *FLAGS.extra,
        ],
        cwd=REPO,
        check=True,
    )
    seconds = time.perf_counter() - start
    name, _, hr, _ = next(pipelines.evaluation_images("sample:val", SCALE))
    print(
        f"quickstart training + evaluation{''.join(' ' + e for e in FLAGS.extra)}: {seconds:.0f} s "
        f"(budget {BUDGET_S} s on the slowest CPU) on {machine()}"
    )
    for model in ("bicubic", "pair0", "pair1"):
        sr = imageio.read_image(os.path.join(FLAGS.run_dir, "samples", f"{name}_{model}.png"))
        print(
            f"  {model:8s} PSNR Y {metrics.psnr(hr, sr, border=SCALE):6.2f} dB   "
            f"RGB {metrics.psnr(hr, sr, border=SCALE, y_only=False):6.2f} dB"
        )


if __name__ == "__main__":
    app.run(main)
