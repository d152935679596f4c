"""The Ma et al. (2017) score against pyiqa's independent port (tests/reference/reference.json)."""

import json
import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from conftest import REPO
from keras_mdsrgan.quality import evaluation, ma, metrics

REFERENCE_DIR = os.path.join(REPO, "tests", "reference")
TEST_MODEL = os.path.join(REFERENCE_DIR, "ma_test_model.mat")


def reference() -> dict:
    with open(os.path.join(REFERENCE_DIR, "reference.json")) as f:
        return json.load(f)["ma"]


def reference_luma(shared_datasets: str, name: str, border: int) -> np.ndarray:
    rgb = np.asarray(Image.open(os.path.join(shared_datasets, "benchmark", name)).convert("RGB"))
    y = metrics.rgb_to_y(rgb, rounded=True)
    return y[border:-border, border:-border] if border else y


@pytest.mark.parametrize("name", sorted(reference()))
def test_features_and_score_match_pyiqa(shared_datasets, name):
    """All 138 features within 1e-5 of pyiqa's NRQM port (odd and even sizes, grey file), and the
    forests + linear model give pyiqa's score with the same model file."""
    expected = reference()[name]
    y = reference_luma(shared_datasets, name, expected["border"])
    assert list(y.shape) == expected["shape"] and y.sum() == expected["luma_sum"]  # same input as pyiqa's
    features = ma.features(y)
    for group, values in zip(("f1", "f2", "f3"), features):
        np.testing.assert_allclose(values, expected[group], rtol=1e-5, atol=1e-5, err_msg=group)
    assert ma.load_model(TEST_MODEL).score(features) == pytest.approx(expected["score"], abs=1e-9)


def test_test_model_routes_images_differently():
    """The reference scores spread out, so a wrong split direction or leaf would show."""
    scores = [r["score"] for r in reference().values()]
    assert len(set(np.round(scores, 6))) == len(scores)


def make_forest(threshold: float, coef=(0.0, 0.0)) -> dict:
    """One stump in regRF_train's layout: feature 2 <= threshold -> 1.0, else 5.0."""
    return {
        "lDau": np.array([[2], [0], [0]]),
        "rDau": np.array([[3], [0], [0]]),
        "nodestatus": np.array([[1], [-1], [-1]]),
        "nrnodes": np.array([[3]]),
        "upper": np.array([[threshold], [0.0], [0.0]]),
        "avnode": np.array([[9.0], [1.0], [5.0]]),
        "mbest": np.array([[2], [0], [0]]),
        "ndtree": np.array([[3]]),
        "ntree": np.array([[1]]),
        "coef": np.array([list(coef)]),
    }


def save_model(path, forests, linear=(0.5, 1.0, 10.0, 100.0)) -> str:
    rf = np.empty((1, len(forests)), dtype=object)
    for i, forest in enumerate(forests):
        rf[0, i] = forest
    scipy.io.savemat(path, {"model": {"linear": np.array(linear, float)[:, None], "rf": rf}})
    return str(path)


def test_forest_semantics(tmp_path):
    """Left on <=, leaves' values averaged over trees, randomForest's bias correction, linear join."""
    model = ma.load_model(
        save_model(tmp_path / "m.mat", [make_forest(0.5), make_forest(0.5, coef=(2.0, 3.0)), make_forest(0.7)])
    )
    at_threshold = [np.array([0.0, 0.5])] * 3
    assert model.score(at_threshold) == pytest.approx(0.5 + 1.0 * 1 + 10.0 * (2 + 3 * 1) + 100.0 * 1)
    above = [np.array([0.0, 0.6])] * 3
    assert model.score(above) == pytest.approx(0.5 + 5.0 + 10.0 * (2 + 3 * 5) + 100.0 * 1)


def test_forest_fields_are_read_by_position_when_named_otherwise(tmp_path):
    """pyiqa reads lDau, rDau, upper, avnode, mbest at positions 0, 1, 4, 5, 6 of regRF_train's
    struct; a file with other field names still loads the same forest."""
    renamed = [{f"field{i}": value for i, value in enumerate(make_forest(0.5).values())}] * 3
    model = ma.load_model(save_model(tmp_path / "renamed.mat", renamed))
    named = ma.load_model(save_model(tmp_path / "named.mat", [make_forest(0.5)] * 3))
    for x in (0.4, 0.6):
        features = [np.array([0.0, x])] * 3
        assert model.score(features) == named.score(features)


def test_model_file_errors(tmp_path, shared_datasets):
    with pytest.raises(ma.ModelFileError, match="sr-metric"):
        ma.load_model(str(tmp_path / "missing.mat"))
    niqe_params = os.path.join(os.path.dirname(shared_datasets), "metrics", "modelparameters.mat")
    with pytest.raises(ValueError, match="not a Ma et al. model file"):
        ma.load_model(niqe_params)
    with pytest.raises(ValueError, match="3 forests"):
        ma.load_model(save_model(tmp_path / "two.mat", [make_forest(0.5)] * 2))
    too_far = make_forest(0.5)
    too_far["mbest"] = np.array([[46], [0], [0]])
    with pytest.raises(ValueError, match="feature 46 of 45"):
        ma.load_model(save_model(tmp_path / "far.mat", [make_forest(0.5), too_far, make_forest(0.5)]))


def test_small_images_are_rejected_and_scored_as_none():
    with pytest.raises(ValueError, match="at least 64x64"):
        ma.features(np.zeros((63, 100)))
    with pytest.raises(ValueError, match="25 blocks of 5x5"):  # 16 blocks at quarter size: 66 values
        ma.features(np.zeros((80, 80)))
    assert [len(f) for f in ma.features(np.random.default_rng(0).uniform(0, 255, (64, 200)))] == [18, 45, 75]
    model = ma.load_model(TEST_MODEL)
    small = np.full((66, 200, 3), 100, np.uint8)  # 62 rows after the border of 2
    assert evaluation.ma_or_none(small, 2, model) is None
    assert evaluation.ma_or_none(small, 2, None) is None


@pytest.mark.parametrize(
    "luma",
    [
        np.full((128, 128), 0.0),
        np.full((128, 128), 100.0),
        np.full((124, 124), 255.0),
        np.repeat(np.linspace(0, 255, 128)[None], 128, axis=0),  # a ramp: no texture across it
        np.repeat((np.arange(128) >= 64)[None] * 200.0, 128, axis=0),  # a step edge
    ],
    ids=["black", "grey", "white", "ramp", "step"],
)
def test_singular_inputs_are_undefined(luma):
    """Flat or orientation-free images have singular GSM covariances: "undefined" is decided by
    an explicit eigenvalue test, not by whether the CPU's inverse happens to fail."""
    with pytest.raises(ValueError, match="undefined"):
        ma.features(luma)


def test_singularity_test_ignores_rounding_noise():
    """Covariances at rounding-noise level or of rank < n are refused whatever their noise (an
    inverse would succeed on them); a well-conditioned one passes."""
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(15, 15))
    regular = basis @ basis.T
    ma._check_regular(regular)
    with pytest.raises(ValueError, match="undefined"):
        ma._check_regular(regular * 1e-28)  # a flat image's bands: noise only
    rank_deficient = basis[:, :14] @ basis[:, :14].T
    noisy = rank_deficient + np.diag(np.abs(rng.normal(size=15))) * 1e-15 * np.abs(rank_deficient).max()
    np.linalg.inv(noisy)  # invertible in floating point...
    with pytest.raises(ValueError, match="undefined"):
        ma._check_regular(noisy)  # ...but singular by the stated tolerance


def test_flat_images_have_no_ma_score():
    flat = np.full((128, 128, 3), 100, np.uint8)
    assert evaluation.ma_or_none(flat, 2, ma.load_model(TEST_MODEL)) is None


def test_score_image_computes_pi_from_ma_and_niqe(shared_datasets):
    hr = np.asarray(Image.open(os.path.join(shared_datasets, "benchmark", "Set5", "x4", "HR", "img_003.png")))
    sr = np.clip(hr.astype(int) + 3, 0, 255).astype(np.uint8)
    model = ma.load_model(TEST_MODEL)
    scores = evaluation.score_image(hr, sr, 4, ma_model=model)
    assert scores["ma"] == pytest.approx(ma.ma_score(metrics.rgb_to_y(sr, rounded=True)[4:-4, 4:-4], model))
    assert scores["pi"] == pytest.approx(((10 - scores["ma"]) + scores["niqe"]) / 2)
    without = evaluation.score_image(hr, sr, 4)
    assert without["ma"] is None and without["pi"] is None and without["niqe"] == scores["niqe"]
    summary = evaluation.summarize({"a": scores, "b": without})
    assert summary["pi"] == pytest.approx(scores["pi"]) and summary["n_images"] == 2
