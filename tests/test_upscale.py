import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from keras_mdsrgan import imageio, inference, resize
from keras_mdsrgan.generators import build_srresnet

SCALE = 2


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(1)
    path = str(tmp_path_factory.mktemp("gen") / "g.keras")
    build_srresnet(SCALE, filters=8, num_blocks=3).save(path)
    return path


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "keras_mdsrgan.upscale", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 120 + 70 * np.sin(x / 3.0)[..., None] * np.cos(y / 5.0)[..., None]
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def test_receptive_radius_counts_convolutions(generator_file):
    import keras

    model = keras.saving.load_model(generator_file, compile=False)
    # head 4 + 3 blocks x 2 + trunk 1 + one x2 upsampling conv 1 + tail 4 / 2 (after the shuffle)
    assert inference.receptive_radius(model) == 4 + 6 + 1 + 1 + 2


def test_tiled_equals_whole_image(generator_file):
    model = inference.load(generator_file)
    lr = _photo(70, 90)
    whole = inference.upscale(model, lr)
    tiled = inference.upscale(model, lr, tile=24)
    assert tiled.shape == whole.shape == (140, 180, 3)
    assert np.abs(tiled.astype(int) - whole).max() <= 1
    # Without enough context the seams show: the overlap is what makes tiling exact.
    assert np.abs(inference.upscale(model, lr, tile=24, overlap=0).astype(int) - whole).max() > 1


def test_cli_file_rgba_keeps_alpha(generator_file, tmp_path):
    rgb = _photo(20, 30)
    alpha = np.tile(np.linspace(0, 255, 30, dtype=np.uint8), (20, 1))
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "in.png")
    result = run_cli(f"--model={generator_file}", f"--input={tmp_path / 'in.png'}", f"--output={tmp_path / 'out.png'}")
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (40, 60, 4)
    np.testing.assert_array_equal(out[..., 3], resize.imresize(alpha[..., None], 2.0).numpy()[..., 0])
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


def test_cli_folder_odd_inputs_and_bad_file(generator_file, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_photo(16, 16)[..., 0]).save(src / "gray.png")
    Image.fromarray(_photo(16, 20)[..., 0].astype(np.uint16) * 257).save(src / "deep.png")
    Image.fromarray(_photo(12, 12)).save(src / "rgb.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = run_cli(f"--model={generator_file}", f"--input={src}", f"--output={dst}", "--tile=8")
    assert result.returncode == 1
    assert "broken.png" in result.stderr and "1 of 4 image(s) failed" in result.stderr
    assert sorted(os.listdir(dst)) == ["deep.png", "gray.png", "rgb.png"]
    assert imageio.read_image(str(dst / "gray.png")).shape == (32, 32, 3)
    assert imageio.read_image(str(dst / "deep.png")).shape == (32, 40, 3)


def test_cli_bad_model_is_one_line(tmp_path):
    (tmp_path / "m.keras").write_text("nope")
    Image.fromarray(_photo(8, 8)).save(tmp_path / "in.png")
    result = run_cli(f"--model={tmp_path / 'm.keras'}", f"--input={tmp_path / 'in.png'}", f"--output={tmp_path / 'o.png'}")
    assert result.returncode == 2 and "cannot load a Keras model" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.png").exists()
