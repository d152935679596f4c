"""The held-out probe of the discriminators: its patches, its kinds and its two modes."""

import keras
import numpy as np
import pytest

from keras_mdsrgan.quality import probe


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    lr = hr.reshape(20, 2, 28, 2, 3).mean(axis=(1, 3)).astype(np.uint8)
    return lr, hr


def _upsampler(gain=1.0):
    return keras.Sequential(
        [keras.layers.Input((None, None, 3)), keras.layers.UpSampling2D(2), keras.layers.Rescaling(gain)]
    )


def test_probe_scores_each_kind_of_generated_patch(images):
    """A discriminator that calls everything sharp 'real' separates HR from bicubic perfectly."""
    lr, hr = images
    sample = probe.make_probe([("a", lr, hr, False), ("b", lr[:8, :8], hr[:16, :16], False)], 2, 16)
    assert sample.hr.shape == (7, 16, 16, 3) and sample.lr.shape == (7, 8, 8, 3)  # 2x3 grid of a, 1 of b
    np.testing.assert_array_equal(sample.hr[1], hr[:16, :16] / np.float32(255))  # b's patch comes second

    def high_frequency(images):  # a 'discriminator' calling sharp images real: HR noise >> bicubic
        energy = keras.ops.mean(keras.ops.abs(images[:, 1:] - images[:, :-1]), axis=[1, 2, 3])
        return (energy - 0.1)[:, None] * 100.0

    sharpness = keras.Sequential([keras.layers.Input((16, 16, 3)), keras.layers.Lambda(high_frequency)])

    identity = _upsampler()
    scores = probe.discriminator_scores([identity, identity], [sharpness, sharpness], sample)["batch"]
    assert scores["pair0"]["bicubic"]["auc"] == 1.0 and scores["pair0"]["bicubic"]["acc"] == 1.0
    assert set(scores["pair1"]) == {"all", "own", "peers", "bicubic"}
    assert probe.make_probe([("c", lr[:4, :4], hr[:8, :8], False)], 2, 16) is None


def test_inference_mode_uses_moving_statistics_where_batch_mode_hides_a_difference(images):
    """A batch-normalised brightness 'discriminator' facing darkened SR: each single-source batch
    is centred on its own mean, so batch mode cannot tell the darker batch apart; with the moving
    mean between the two brightnesses, inference mode separates them perfectly."""
    lr, hr = images
    sample = probe.make_probe([("a", lr, hr, False)], 2, 16)
    brightness = keras.layers.Lambda(lambda x: keras.ops.mean(x, axis=[1, 2, 3])[:, None])
    norm = keras.layers.BatchNormalization()
    judge = keras.Sequential([keras.layers.Input((16, 16, 3)), brightness, norm])
    mean = float(sample.hr.mean())
    norm.set_weights([np.ones(1), np.zeros(1), np.full(1, 0.75 * mean), np.full(1, 1e-4)])
    dark = _upsampler(0.5)
    scores = probe.discriminator_scores([dark], [judge], sample)
    batch, inference = scores["batch"]["pair0"]["own"], scores["inference"]["pair0"]["own"]
    assert inference["auc"] == 1.0 and inference["acc"] == 1.0
    assert batch["auc"] < 0.8
    np.testing.assert_allclose(norm.get_weights()[2:], [np.full(1, 0.75 * mean), np.full(1, 1e-4)], rtol=1e-6)
    with pytest.raises(ValueError, match="mode must be one of"):
        probe.discriminator_scores([dark], [judge], sample, modes=("eval",))
