import os
import struct
import tempfile
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import run_command, run_python
from keras_mdsrgan.data import imageio, resize
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference
from keras_mdsrgan.model.generators import build_srresnet

SCALE = 2


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(1)
    path = str(tmp_path_factory.mktemp("gen") / "g.keras")
    build_srresnet(SCALE, filters=8, num_blocks=3).save(path)
    return path


def run_cli(capfd, *args):
    """``upscale ARGS`` in this process (conftest.run_command)."""
    return run_command(capfd, "upscale", *args)


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 120 + 70 * np.sin(x / 3.0)[..., None] * np.cos(y / 5.0)[..., None]
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def _write_bomb_png(path, side):
    """A valid black 1-bit PNG of side x side pixels in a few KB, compressed row by row (no big array)."""
    row = bytes(1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


class CountingUpscaler:
    """A nearest-neighbour x2 stand-in for a model that counts its runs."""

    radius = 0

    def __init__(self):
        self.calls = 0

    def float_call(self, lr):
        self.calls += 1
        return lr.repeat(2, axis=1).repeat(2, axis=2)


@pytest.fixture
def pixel_limits(monkeypatch):
    """Pillow's and imageio's pixel limits at their defaults, restored after the test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", imageio.DEFAULT_MAX_IMAGE_PIXELS)
    monkeypatch.setattr(imageio, "_max_image_pixels", imageio.DEFAULT_MAX_IMAGE_PIXELS)


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


def test_default_tile_is_1024_sr_pixels_and_0_means_whole():
    """The --tile default of upscale and evaluate: 1024 // scale LR pixels, so memory stays bounded."""
    assert inference.tile_for(None, 4) == 256 and inference.tile_for(None, 2) == 512
    assert inference.tile_for(24, 4) == 24 and inference.tile_for(0, 4) is None
    lr = _photo(8, 520)
    for flag, runs in ((None, 2), (0, 1)):
        model = CountingUpscaler()
        sr = inference.upscale(model, lr, tile=inference.tile_for(flag, 2))
        assert model.calls == runs
        np.testing.assert_array_equal(sr, lr.repeat(2, axis=0).repeat(2, axis=1))


def test_tiles_report_their_progress_and_the_cli_shows_it(generator_file, tmp_path, capfd):
    seen = []
    inference.upscale(
        CountingUpscaler(), _photo(30, 50), tile=16, on_tile=lambda done, total: seen.append((done, total))
    )
    assert seen == [(i, 8) for i in range(1, 9)]  # 2 rows x 4 columns of tiles
    Image.fromarray(_photo(20, 40)).save(tmp_path / "in.png")
    result = run_cli(
        capfd,
        f"--model={generator_file}",
        f"--input={tmp_path / 'in.png'}",
        f"--output={tmp_path / 'out.png'}",
        "--tile=10",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "8/8" in result.stdout and "tile" in result.stdout  # the bar reached the last of 2 x 4 tiles


def test_cli_tiles_large_images_by_default(generator_file, tmp_path, capfd):
    """Without --tile a 530-pixel-wide image runs as LR tiles of 512: with no overlap, the seam shows."""
    lr = _photo(12, 530)
    Image.fromarray(lr).save(tmp_path / "wide.png")
    result = run_cli(
        capfd,
        f"--model={generator_file}",
        f"--input={tmp_path / 'wide.png'}",
        f"--output={tmp_path / 'out.png'}",
        "--overlap=0",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    model = inference.load(generator_file)
    whole = inference.upscale(model, lr)
    error = np.abs(imageio.read_image(str(tmp_path / "out.png")).astype(int) - whole).max(axis=(0, 2))
    seam_reach = (512 - model.radius) * SCALE  # SR columns that see the tile's right edge
    assert error[:seam_reach].max() <= 1 and error[seam_reach:].max() > 1


def test_pixel_limit_refuses_decompression_bombs_in_one_line(tmp_path, pixel_limits):
    bomb = tmp_path / "bomb.png"
    _write_bomb_png(bomb, 20000)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(imageio.ImageError) as pillow_guard:  # a library user: Pillow's guard, converted
        imageio.read_image(str(bomb))
    imageio.set_max_image_pixels(imageio.DEFAULT_MAX_IMAGE_PIXELS)  # as the command lines do
    with pytest.raises(imageio.ImageError) as own_guard:
        imageio.is_grey_file(str(bomb))
    for caught in (pillow_guard, own_guard):
        message = str(caught.value)
        assert message.startswith(f"{bomb}: ") and "\n" not in message
        assert "400000000 pixels" in message and "--max_image_pixels" in message
    assert f"above the limit of {imageio.DEFAULT_MAX_IMAGE_PIXELS}" in str(own_guard.value)


def test_pixel_limit_refuses_without_pillows_warning_first(tmp_path, pixel_limits):
    bomb = tmp_path / "bomb.png"
    _write_bomb_png(bomb, 9500)  # 90.25 MP: above Pillow's warning limit, below its error limit
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # a warning would escape as this
        with pytest.raises(imageio.ImageError, match="9500x9500 = 90250000 pixels, above the limit of 89478485"):
            imageio.read_image(str(bomb))


def test_pixel_limit_is_settable(tmp_path, pixel_limits):
    small = tmp_path / "small.png"
    Image.fromarray(_photo(10, 20)).save(small)
    imageio.set_max_image_pixels(199)
    with pytest.raises(imageio.ImageError, match="20x10 = 200 pixels, above the limit of 199"):
        imageio.read_image(str(small))
    imageio.set_max_image_pixels(200)
    assert imageio.read_image(str(small)).shape == (10, 20, 3)


def test_output_files_never_lose_a_result_or_an_input(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.fromarray(_photo(8, 8)).save(src / name)
    assert imageio.output_files(str(src), str(out)) == [
        (str(src / "a.png"), str(out / "a.png")),
        (str(src / "b.jpg"), str(out / "b.png")),
    ]
    with pytest.raises(UserError, match="in/a.png would replace this input file"):
        imageio.output_files(str(src), str(src))  # a.png -> a.png
    with pytest.raises(UserError, match="in/a.png would replace this input file"):
        imageio.output_files(str(src / "a.png"), os.path.join(str(src), ".", "a.png"))
    Image.fromarray(_photo(8, 8)).save(src / "a.jpg")
    with pytest.raises(UserError, match=r"in/a.jpg and .*in/a.png would both be written to .*out/a.png"):
        imageio.output_files(str(src), str(out))
    assert not out.exists()
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(UserError, match="file.png: a file, but the output of folder"):
        imageio.output_files(str(src), str(tmp_path / "file.png"))


def test_outputs_that_cannot_be_written_are_one_line_errors(tmp_path, monkeypatch):
    """A folder or an unwritable format as a file's output stops the run before any work;
    a failed write (a file in the way, no permission) is an ImageError, with no temporary left."""
    src = tmp_path / "a.png"
    Image.fromarray(_photo(8, 8)).save(src)
    (tmp_path / "folder").mkdir()
    with pytest.raises(imageio.ImageError, match="missing.png: no such file or folder"):
        imageio.output_files(str(tmp_path / "missing.png"), str(tmp_path / "out.png"))
    for target, message in (
        (tmp_path / "folder", "a folder, but the output of file"),
        (tmp_path / "b.psd", "cannot write .psd images"),
        (tmp_path / "b", "cannot write an image without an extension"),
    ):
        with pytest.raises(imageio.ImageError, match=message):
            imageio.output_files(str(src), str(target))
    with pytest.raises(imageio.ImageError, match="cannot write image"):
        imageio.write_image(str(src / "sub.png"), _photo(8, 8))  # a file where the folder should be

    def refuse(*args, **kwargs):  # as in a folder the user may not write to
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(imageio.ImageError, match=r"out.png: cannot write image \(Permission denied\)$"):
        imageio.write_image(str(tmp_path / "out.png"), _photo(8, 8))
    assert sorted(os.listdir(tmp_path)) == ["a.png", "folder"]


def test_cli_file_rgba_keeps_alpha(generator_file, tmp_path, capfd):
    rgb = _photo(20, 30)
    alpha = np.tile(np.linspace(0, 255, 30, dtype=np.uint8), (20, 1))
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "in.png")
    result = run_cli(
        capfd,
        f"--model={generator_file}",
        f"--input={tmp_path / 'in.png'}",
        f"--output={tmp_path / 'out.png'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (40, 60, 4)
    np.testing.assert_array_equal(out[..., 3], resize.imresize(alpha[..., None], 2.0).numpy()[..., 0])
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".mdsrgan-tmp-")]


def test_cli_without_model_uses_zoo_x4_and_says_so(tmp_path, capfd):
    Image.fromarray(_photo(12, 10)).save(tmp_path / "in.png")
    result = run_cli(capfd, f"--input={tmp_path / 'in.png'}", f"--output={tmp_path / 'out.png'}")
    assert "using zoo:x4 (no --model given)" in result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(tmp_path / "out.png").size == (40, 48)


def test_cli_folder_odd_inputs_and_bad_file(generator_file, tmp_path, capfd):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_photo(16, 16)[..., 0]).save(src / "gray.png")
    Image.fromarray(_photo(16, 20)[..., 0].astype(np.uint16) * 257).save(src / "deep.png")
    Image.fromarray(_photo(12, 12)).save(src / "rgb.jpg")
    Image.fromarray(_photo(20, 20)).save(src / "big.png")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = run_cli(
        capfd,
        f"--model={generator_file}",
        f"--input={src}",
        f"--output={dst}",
        "--tile=8",
        "--max_image_pixels=350",
    )
    assert result.returncode == 1
    assert "broken.png" in result.stderr and "2 of 5 image(s) failed" in result.stderr
    assert "big.png: 20x20 = 400 pixels, above the limit of 350" in result.stderr
    assert sorted(os.listdir(dst)) == ["deep.png", "gray.png", "rgb.png"]
    assert imageio.read_image(str(dst / "gray.png")).shape == (32, 32, 3)
    assert imageio.read_image(str(dst / "deep.png")).shape == (32, 40, 3)


def test_cli_folder_stops_at_an_output_it_cannot_write(generator_file, tmp_path, capfd):
    """A refused write (here a folder in the way) would refuse the next outputs too: one error
    naming the output, not the temporary file, and no more work."""
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(_photo(12, 12)).save(src / f"{name}.png")
    (dst / "a.png").mkdir(parents=True)
    result = run_cli(capfd, f"--model={generator_file}", f"--input={src}", f"--output={dst}")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {dst / 'a.png'}: cannot write image (Is a directory); stopped before the other 2 image(s)"
    ], result.stderr[-2000:]
    assert "1 of 3 image(s) failed" in result.stderr
    assert os.listdir(dst) == ["a.png"] and (dst / "a.png").is_dir()


def test_bad_model_names_it(tmp_path):
    (tmp_path / "m.keras").write_text("nope")
    with pytest.raises(inference.ModelLoadError, match="m.keras: cannot load a Keras model"):
        inference.load(str(tmp_path / "m.keras"))


def test_cli_clashing_outputs_stop_before_any_work_in_one_line(generator_file, tmp_path, capfd):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "a.jpg", "b.png"):
        Image.fromarray(_photo(8, 8)).save(src / name)
    result = run_cli(capfd, f"--model={generator_file}", f"--input={src}", f"--output={tmp_path / 'out'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {src / 'a.jpg'} and {src / 'a.png'} would both be written to {tmp_path / 'out' / 'a.png'}; "
        "rename one or upscale them apart"
    ]
    assert not (tmp_path / "out").exists()


def test_cli_internal_errors_keep_their_traceback(tmp_path):
    """Only a UserError becomes a one-line message; a bug (here a ValueError) surfaces whole."""
    Image.fromarray(_photo(8, 8)).save(tmp_path / "in.png")
    script = (
        "import sys; from absl import app; from keras_mdsrgan import upscale; "
        "from keras_mdsrgan.model import inference; "
        "inference.load = lambda path: int('not a user error'); "
        f"sys.argv = ['upscale', '--model=m.keras', '--input={tmp_path / 'in.png'}', "
        f"'--output={tmp_path / 'out.png'}']; app.run(upscale.main)"
    )
    result = run_python("-c", script, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" in result.stderr and "ValueError: invalid literal" in result.stderr


def test_one_process_may_import_train_and_upscale():
    """Both define --max_image_pixels; a test worker (or a notebook) importing both must not clash."""
    result = run_python("-c", "import keras_mdsrgan.train, keras_mdsrgan.upscale, keras_mdsrgan.zoo")
    assert result.returncode == 0, result.stderr[-2000:]
