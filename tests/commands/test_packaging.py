"""The wheel, installed into a fresh venv, runs its console scripts from any directory.

Cheap enough for CI: the wheel is built without build isolation (no download), and the fresh
venv gets only the wheel (--no-deps); its dependencies come from this environment's
site-packages through a .pth file, which does not make the checkout importable.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from keras_mdsrgan.model import zoo
from keras_mdsrgan.model.generators import build_srresnet

# Each script's --help shows its module's usage text and flags (absl exits 1 after --help).
SCRIPTS = {
    "mdsrgan-train": "--run_dir:",
    "mdsrgan-evaluate": "--datasets:",
    "mdsrgan-compare": "--labels:",
    "mdsrgan-export": "--formats:",
    "mdsrgan-upscale": "--model: A .keras generator",
    "mdsrgan-flagfile": "Where the bundled flagfiles",
    "mdsrgan-zoo": "--pack:",
}
_SKIP = shutil.ignore_patterns(".venv", ".git", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a copy of the checkout (the build writes build/ and egg-info there)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=_SKIP)
    result = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(root / "dist"),
            str(source),
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = (root / "dist").glob("keras_mdsrgan-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv holding the wheel; the rest of the environment is reached through a .pth file."""
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = str(path / "bin" / "python")
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    with open(os.path.join(site, "parent_environment.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    result = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", str(wheel)]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return path


def test_wheel_holds_the_package_and_its_data_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"keras_mdsrgan", wheel.name.split("-py3")[0] + ".dist-info"}
    for data in (
        "resources/niqe_pris_params.npz",
        "resources/niqe_release_readme.txt",
        "resources/quickstart_srresnet_x4.keras",
        "flagfiles/x2.cfg",
        "flagfiles/quickstart.cfg",
        "export/exporter.py",
        "export/onnxmodel.py",
        "zoo/packing.py",
        *(f"resources/zoo/{n}.npz" for n in zoo.names()),
    ):
        assert f"keras_mdsrgan/{data}" in names
    entry_points = zipfile.ZipFile(wheel).read(wheel.name.split("-py3")[0] + ".dist-info/entry_points.txt")
    assert all(script in entry_points.decode() for script in SCRIPTS)


def test_console_scripts_from_any_directory(venv, tmp_path):
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import keras_mdsrgan; print(keras_mdsrgan.__file__)"], cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv))  # the wheel's copy, not the checkout
    for script, expected in SCRIPTS.items():
        result = _run([str(venv / "bin" / script), "--help"], cwd=tmp_path)
        assert expected in result.stdout, (script, result.stdout[-2000:], result.stderr[-2000:])

    flagfile = _run([str(venv / "bin" / "mdsrgan-flagfile"), "x2"], cwd=tmp_path).stdout.strip()
    assert (
        flagfile.startswith(str(venv)) and open(flagfile).read() == open(os.path.join(REPO, "flags", "x2.cfg")).read()
    )
    missing = _run([str(venv / "bin" / "mdsrgan-flagfile"), "x9"], cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: no bundled flagfile 'x9'")


def test_installed_upscale_runs(venv, tmp_path):
    build_srresnet(2, filters=4, num_blocks=1).save(str(tmp_path / "g.keras"))
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    result = _run(
        [str(venv / "bin" / "mdsrgan-upscale"), "--model=g.keras", "--input=in.png", "--output=out.png"],
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 1 image(s) at x2 to out.png" in result.stdout
    assert Image.open(tmp_path / "out.png").size == (24, 20)
