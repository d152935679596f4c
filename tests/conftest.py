"""Shared fixtures. Tests needing ../shared skip in a clone without it; CI makes that a failure."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _small_val() -> str:
    """A folder holding a 240x200 crop of the sample photo (sample:val's chelsea.png): tiny runs
    validate on it in a third of the time of the whole photo, and NIQE still has its blocks."""
    import skimage
    from PIL import Image

    parent = tempfile.mkdtemp(prefix="mdsrgan-tests-")
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    folder = os.path.join(parent, "val")  # reported as the dataset "val"
    os.mkdir(folder)
    with Image.open(os.path.join(os.path.dirname(skimage.__file__), "data", "chelsea.png")) as photo:
        photo.crop((0, 0, 240, 200)).save(os.path.join(folder, "chelsea.png"))
    return folder


SMALL_VAL = _small_val()
# The smallest training run of the command-line tests: x2 on the bundled photos, validated on
# SMALL_VAL, 4-channel networks, pixel + adversarial loss; each test adds its pairs, schedule and
# bookkeeping. No XLA: where TensorFlow runs its Eigen kernels (AVX2-only CPUs) XLA is on by
# default, and compiling cost a tiny run 41 s against 21 s without;
# test_the_xla_compiled_steps_train trains with XLA.
TINY_RUN = [
    "--nojit_compile",
    "--train=sample:train",
    f"--val={SMALL_VAL}",
    "--val_max_images=1",
    "--scale=2",
    "--hr_patch=16",
    "--batch_size=2",
    "--gen_filters=4",
    "--gen_blocks=1",
    "--disc_filters=4",
    "--disc_dense=8",
    "--perceptual_weight=0",
    "--pixel_weight=1",
]
SHARED = os.path.join(os.path.dirname(REPO), "shared")


def run_python(*args, cwd=REPO, env=None, timeout=None) -> subprocess.CompletedProcess:
    """``python ARGS`` (this interpreter) in ``cwd``, its output captured as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def shared_datasets() -> str:
    """Path of ../shared/datasets, or a skip (a failure when MDSRGAN_REQUIRE_SHARED=1, as in CI)."""
    path = os.path.join(SHARED, "datasets")
    if not os.path.isdir(path):
        reason = f"needs the development datasets at {path} (not part of a user's clone)"
        if os.environ.get("MDSRGAN_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run_command(capfd, command: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m keras_mdsrgan.COMMAND ARGS`` run in this process: the command's ``main`` on
    the parsed flags, its output captured, without a TensorFlow start-up per run. What only a
    real process shows (start-up chatter, signals) needs ``run_python``."""
    import importlib

    from absl import flags
    from PIL import Image

    from keras_mdsrgan.data import imageio

    module = importlib.import_module(f"keras_mdsrgan.{command}")
    limits = imageio._max_image_pixels, Image.MAX_IMAGE_PIXELS  # --max_image_pixels sets both
    # Another command run earlier in this process left its flags, and the required ones (upscale's
    # --input) would fail this command's parse: their checks are off while this command runs.
    others = [  # the other commands: modules of the package with a main
        m
        for name, m in list(sys.modules.items())
        if name.startswith("keras_mdsrgan.") and m is not module and hasattr(m, "main")
    ]
    checks = {f: f.validators for m in others for f in flags.FLAGS.get_flags_for_module(m) if f.validators}
    capfd.readouterr()  # earlier output is not this command's
    try:
        for flag in checks:
            flag.validators = []
        flags.FLAGS([command, "--verbosity=0", *args])  # absl sets 0 only under app.run
        status = module.main([command])
    finally:
        flags.FLAGS.unparse_flags()
        for flag, validators in checks.items():
            flag.validators = validators
        imageio._max_image_pixels, Image.MAX_IMAGE_PIXELS = limits
    captured = capfd.readouterr()
    return subprocess.CompletedProcess([command, *args], status, captured.out, captured.err)
