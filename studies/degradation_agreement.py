"""How close each bicubic degradation comes to the LR images MATLAB made (../shared).

Compares our MATLAB port (keras_mdsrgan.data.resize.degrade) and tf.image.resize(bicubic,
antialias=True) with MATLAB's LR files for Set5/Set14 at x2 and x4: share of identical pixels,
share off by more than 1 grey level, and PSNR against MATLAB's LR.

  python studies/degradation_agreement.py [--datasets=../shared/datasets/benchmark]
"""

from __future__ import annotations

import glob
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from keras_mdsrgan import cli  # noqa: E402
from keras_mdsrgan.data import imageio, resize  # noqa: E402
from keras_mdsrgan.errors import UserError  # noqa: E402
from keras_mdsrgan.quality import metrics  # noqa: E402

flags.DEFINE_string(
    "datasets",
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "benchmark"),
    "Folder with Set5/ and Set14/ HR/LR pairs.",
)
FLAGS = flags.FLAGS


def tf_bicubic(hr: np.ndarray, scale: int) -> np.ndarray:
    size = (hr.shape[0] // scale, hr.shape[1] // scale)
    out = tf.image.resize(tf.constant(hr, tf.float32), size, method="bicubic", antialias=True)
    return np.clip(np.round(out.numpy()), 0, 255).astype(np.uint8)


def print_table() -> None:
    """One row per set, scale and method: how far its LR images are from MATLAB's."""
    methods = {
        "MATLAB port (ours)": lambda hr, s: resize.degrade(hr, s).numpy(),
        "tf.image.resize bicubic+antialias": tf_bicubic,
    }
    print("| set | scale | method | identical px | off by >1 | PSNR vs MATLAB LR |")
    print("|---|---|---|---|---|---|")
    for dataset in ("Set5", "Set14"):
        for scale in (2, 4):
            hr_files = sorted(glob.glob(os.path.join(FLAGS.datasets, dataset, f"x{scale}", "HR", "*.png")))
            if not hr_files:
                raise SystemExit(f"no HR images under {FLAGS.datasets}/{dataset}/x{scale}/HR")
            for name, degrade in methods.items():
                same = off = total = 0
                psnrs = []
                for hr_path in hr_files:
                    hr = imageio.read_image(hr_path)
                    matlab = imageio.read_image(hr_path.replace(f"{os.sep}HR{os.sep}", f"{os.sep}LR{os.sep}"))
                    ours = degrade(hr, scale)
                    diff = np.abs(ours.astype(int) - matlab)
                    same, off, total = same + (diff == 0).sum(), off + (diff > 1).sum(), total + diff.size
                    psnrs.append(metrics.psnr(matlab, ours, y_only=False))
                psnr = "identical" if same == total else f"{metrics.mean_psnr(psnrs):.2f} dB"
                print(
                    f"| {dataset} | x{scale} | {name} | {100 * same / total:.2f}% | {100 * off / total:.2f}% | {psnr} |"
                )


def main(argv) -> int:
    del argv
    try:
        print_table()
    except UserError as err:  # an unreadable image: one line
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)
