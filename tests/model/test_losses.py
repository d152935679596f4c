import numpy as np
import pytest
import tensorflow as tf

from keras_mdsrgan.model import distill, losses


def _kl_numpy(p, q):
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_bernoulli_kl_matches_closed_form(temperature):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, size=(5, 1))
    z = rng.normal(size=(5, 1)) * 3
    q = 1 / (1 + np.exp(-z / temperature))
    got = losses.bernoulli_kl(tf.constant(p), tf.constant(z), temperature).numpy()
    np.testing.assert_allclose(got, _kl_numpy(p, q)[:, 0], rtol=1e-9)


def test_bernoulli_kl_zero_for_equal_and_finite_when_saturated():
    z = tf.constant([[-3.0], [0.5], [4.0]])
    assert np.allclose(losses.bernoulli_kl(tf.sigmoid(z), z, 1.0).numpy(), 0.0, atol=1e-6)
    extreme = losses.bernoulli_kl(tf.constant([[1.0], [0.0]]), tf.constant([[-200.0], [200.0]]), 1.0)
    assert np.all(np.isfinite(extreme.numpy())) and np.all(extreme.numpy() > 100)


def test_distillation_targets():
    probs = [tf.constant([0.2]), tf.constant([0.4]), tf.constant([0.9])]
    peers = distill.peer_targets(probs, 1)
    assert [float(p[0]) for p in peers] == pytest.approx([0.2, 0.9])
    (ensemble,) = distill.ensemble_targets(probs, 1)
    assert float(ensemble[0]) == pytest.approx(0.5)


def test_adversarial_and_pixel_losses():
    logits = tf.constant([[0.0], [2.0]])
    np.testing.assert_allclose(
        losses.adversarial_loss(logits, True).numpy(), [np.log(2), np.log(1 + np.exp(-2))], rtol=1e-6
    )
    hr, sr = tf.zeros([2, 4, 4, 3]), tf.fill([2, 4, 4, 3], 0.5)
    np.testing.assert_allclose(losses.pixel_loss(hr, sr).numpy(), [0.25, 0.25])


def test_missing_vgg_weights_is_one_line(tmp_path):
    missing = str(tmp_path / "nope.h5")
    with pytest.raises(losses.MissingWeightsError) as err:
        losses.resolve_vgg19_weights(missing)
    message = str(err.value)
    assert "\n" not in message and missing in message and losses.VGG19_NOTOP_FILE in message


def test_perceptual_loss_uses_chosen_layer():
    vgg = losses.build_vgg_features("block2_conv2", "random")
    assert vgg.output.shape[-1] == 128
    hr = tf.random.uniform([2, 32, 32, 3], seed=1)
    hr_features = losses.vgg_embedding(vgg, hr)
    assert np.allclose(losses.perceptual_loss(hr_features, losses.vgg_embedding(vgg, hr)).numpy(), 0.0)
    assert np.all(losses.perceptual_loss(hr_features, losses.vgg_embedding(vgg, 1.0 - hr)).numpy() > 0)
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        losses.build_vgg_features("block9_conv9", "random")
