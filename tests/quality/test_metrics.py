import os

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import REPO
from keras_mdsrgan.data import imageio, pipelines, resize
from keras_mdsrgan.quality import metrics


def _pair(seed=0, shape=(40, 52, 3)):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("border", [0, 2, 4])
def test_psnr_ssim_match_skimage_on_y(border):
    a, b = _pair(border)
    ya, yb = metrics.rgb_to_y(a), metrics.rgb_to_y(b)
    if border:
        ya, yb = ya[border:-border, border:-border], yb[border:-border, border:-border]
    assert metrics.psnr(a, b, border) == pytest.approx(peak_signal_noise_ratio(ya, yb, data_range=255), abs=1e-6)
    expected = structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert metrics.ssim(a, b, border) == pytest.approx(expected, abs=1e-4)


def test_rgb_variants_and_y_convention():
    a, b = _pair(5)
    assert metrics.psnr(a, b, y_only=False) == pytest.approx(
        peak_signal_noise_ratio(a.astype(float), b.astype(float), data_range=255), abs=1e-6
    )
    white, black = np.full((1, 1, 3), 255, np.uint8), np.zeros((1, 1, 3), np.uint8)
    assert metrics.rgb_to_y(white)[0, 0] == pytest.approx(235) and metrics.rgb_to_y(black)[0, 0] == 16
    red = np.array([[[255, 0, 0]]], np.uint8)
    assert metrics.rgb_to_y(red)[0, 0] == pytest.approx(81.481) and metrics.rgb_to_y(red, rounded=True)[0, 0] == 81


def test_grey_reference_is_compared_on_grey_levels():
    """A single-channel HR is scored on its grey levels, the SR reduced by MATLAB rgb2gray."""
    rng = np.random.default_rng(3)
    grey = np.repeat(rng.integers(0, 256, (30, 30, 1), dtype=np.uint8), 3, axis=2)
    sr = np.clip(grey.astype(int) + rng.integers(-9, 10, grey.shape), 0, 255).astype(np.uint8)
    expected_sr = np.floor(sr.astype(float) @ [0.298936021293775, 0.587043074451121, 0.114020904255103] + 0.5)
    expected = peak_signal_noise_ratio(grey[2:-2, 2:-2, 0].astype(float), expected_sr[2:-2, 2:-2], data_range=255)
    assert metrics.psnr(grey, sr, border=2, grey=True) == pytest.approx(expected, abs=1e-9)
    # On Y the 16-235 range shrinks the errors by 219/255: a different, higher number.
    assert metrics.psnr(grey, sr, border=2) > expected + 1


def test_identical_images_give_inf_and_means_skip_it():
    a, _ = _pair()
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.mean_psnr([30.0, float("inf"), 32.0]) == 31.0
    assert np.isnan(metrics.mean_psnr([float("inf")]))


def test_border_crop_changes_what_is_compared():
    a = np.full((20, 20, 3), 100, np.uint8)
    b = a.copy()
    b[:2] = 0  # differences only in the top two rows
    assert metrics.psnr(a, b, border=2) == float("inf")
    assert np.isfinite(metrics.psnr(a, b, border=1))


# Published bicubic baselines (e.g. Kim et al., VDSR, CVPR 2016, Table 3): PSNR dB / SSIM.
PUBLISHED = {
    ("Set5", 2): (33.66, 0.9299),
    ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688),
    ("Set14", 4): (26.00, 0.7027),
}


@pytest.mark.parametrize("dataset,scale", sorted(PUBLISHED))
def test_bicubic_baseline_reproduces_published(shared_datasets, dataset, scale):
    """The shared MATLAB LR images, our MATLAB bicubic and our metrics give the published numbers.

    Set14 holds a single-channel image (bridge): scored on Y it would move the mean by +0.09 dB.
    """
    psnrs, ssims = [], []
    spec = ":".join(os.path.join(shared_datasets, "benchmark", dataset, f"x{scale}", k) for k in ("HR", "LR"))
    for _, lr, hr, grey in pipelines.evaluation_images(spec, scale):
        up = resize.imresize(lr, scale).numpy()
        psnrs.append(metrics.psnr(hr, up, border=scale, grey=grey))
        ssims.append(metrics.ssim(hr, up, border=scale, grey=grey))
    psnr, ssim = PUBLISHED[(dataset, scale)]
    assert np.mean(psnrs) == pytest.approx(psnr, abs=0.02)
    assert np.mean(ssims) == pytest.approx(ssim, abs=0.002)


def test_niqe_matches_independent_reference(shared_datasets):
    """NIQE of every shared Set5/Set14 HR image vs ../shared/metrics/niqe_reference.json."""
    import json

    reference = os.path.join(os.path.dirname(shared_datasets), "metrics", "niqe_reference.json")
    with open(reference) as f:
        values = json.load(f)["values"]
    checked = 0
    for key, per_image in values.items():
        folder, border = key.split(" crop_border=")
        dataset, scale, _ = folder.split("/")
        if scale != "x4":  # x2 repeats the same images with another border; keep CI short
            continue
        for name, expected in per_image.items():
            image = imageio.read_image(os.path.join(shared_datasets, "benchmark", dataset, scale, "HR", name))
            assert metrics.niqe(image, border=int(border)) == pytest.approx(expected, abs=0.01), (key, name)
            checked += 1
    assert checked == 19


def test_niqe_matches_basicsr_on_set5(shared_datasets):
    """NIQE of Set5 (x2 and x4 borders) vs BasicSR's implementation, run by
    tests/reference/make_reference.py, to 0.01 as the issue asks."""
    import json

    with open(os.path.join(REPO, "tests", "reference", "reference.json")) as f:
        values = json.load(f)["niqe"]
    assert len(values) == 10
    for name, expected in values.items():
        image = imageio.read_image(os.path.join(shared_datasets, "benchmark", name))
        assert metrics.niqe(image, border=expected["border"]) == pytest.approx(expected["niqe"], abs=0.01), name


def test_niqe_rises_with_blur_and_needs_a_block(shared_datasets):
    from scipy import ndimage

    image = imageio.read_image(os.path.join(shared_datasets, "benchmark", "Set5", "x2", "HR", "img_002.png"))
    blurred = np.stack([ndimage.gaussian_filter(image[..., c].astype(float), 3) for c in range(3)], -1)
    assert metrics.niqe(np.round(blurred).astype(np.uint8)) > metrics.niqe(image) + 1
    with pytest.raises(ValueError, match="at least two 96x96 blocks"):
        metrics.niqe(image[:200, :100], border=4)


def test_niqe_of_a_flat_image_is_undefined_without_warnings():
    """A blank SR output (early training) gets a clear error, which evaluation reports as None."""
    import warnings

    from keras_mdsrgan.quality import evaluation

    flat = np.full((300, 300, 3), 128, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="NIQE is undefined"):
            metrics.niqe(flat, border=4)
        assert evaluation.niqe_or_none(flat, 4) is None
