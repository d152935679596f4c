"""The demo's work without a browser: the start-up model list, one upscale, errors, the crop."""

import os

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from keras_mdsrgan.data import imageio
from keras_mdsrgan.demo import engine
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference

MODEL = os.path.join(REPO, "keras_mdsrgan", "resources", "quickstart_srresnet_x4.keras")


@pytest.fixture(scope="module")
def models():
    return engine.Models([MODEL], names=[])


def test_models_offer_only_the_start_up_list(models):
    entry = models.get("quickstart_srresnet_x4")
    assert entry.scale == 4 and "x4" in entry.details and "0.17 M parameters" in entry.details
    with pytest.raises(UserError, match="not one of this server's models"):
        models.get("../../etc/passwd")
    with pytest.raises(UserError, match="no model to show"):
        engine.Models([], names=[])


def test_upscale_matches_the_upscale_command_and_names_the_visitors_file(models, tmp_path):
    rng = np.random.default_rng(0)
    source = str(tmp_path / "photo.png")
    imageio.write_image(source, rng.integers(0, 256, (30, 20, 3), dtype=np.uint8))
    inference.upscale_file(models.get("quickstart_srresnet_x4").upscaler, source, str(tmp_path / "cli.png"), 4)
    result = engine.upscale(models.get("quickstart_srresnet_x4"), source, "photo.png", str(tmp_path), tile=8)
    assert np.array_equal(imageio.read_image(result.png), imageio.read_image(str(tmp_path / "cli.png")))
    assert result.bicubic.shape == result.sr.shape == (120, 80, 3) and result.seconds > 0
    assert os.path.basename(result.png) == "photo_quickstart_srresnet_x4.png"

    bad = tmp_path / "server-side-name.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(UserError) as caught:
        engine.upscale(models.get("quickstart_srresnet_x4"), str(bad), "holiday.png", str(tmp_path))
    assert str(caught.value).startswith("holiday.png: cannot decode image") and str(tmp_path) not in str(caught.value)


def test_a_one_pixel_image_is_upscaled_as_by_the_command(models, tmp_path):
    source = str(tmp_path / "dot.png")
    imageio.write_image(source, np.full((1, 1, 3), 200, np.uint8))
    result = engine.upscale(models.get("quickstart_srresnet_x4"), source, "dot.png", str(tmp_path))
    assert result.sr.shape == result.bicubic.shape == (4, 4, 3)


def test_crop_stays_inside_the_image():
    image = np.arange(300 * 400).reshape(300, 400)
    assert engine.crop(image, 0, 0, side=100).shape == (100, 100)
    assert engine.crop(image, 100, 100, side=100)[-1, -1] == image[-1, -1]
    assert engine.crop(image, 50, 50, side=500).shape == (300, 400)


def test_samples_are_the_bundled_photos_made_smaller(tmp_path):
    paths = engine.write_samples(str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["chelsea_small.png", "astronaut_small.png", "coffee_small.png"]
    assert imageio.read_image(paths[1]).shape == (128, 128, 3)  # astronaut is 512 x 512


def test_an_rgba_upload_downloads_with_its_alpha_as_upscale_writes_it(models, tmp_path):
    rng = np.random.default_rng(1)
    source = str(tmp_path / "logo.png")
    rgba = rng.integers(0, 256, (16, 12, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(source)
    entry = models.get("quickstart_srresnet_x4")
    inference.upscale_file(entry.upscaler, source, str(tmp_path / "cli.png"), 4)
    result = engine.upscale(entry, source, "logo.png", str(tmp_path))
    assert np.array_equal(np.asarray(Image.open(result.png)), np.asarray(Image.open(tmp_path / "cli.png")))
    assert np.asarray(Image.open(result.png)).shape == (64, 48, 4) and result.sr.shape == (64, 48, 3)
