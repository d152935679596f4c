import os
import sys

import keras
import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "studies"))
import adversary  # noqa: E402  (studies/adversary.py)


def test_adversarial_pull_of_a_linear_discriminator():
    """For logit = w·x, the generator's BCE gradient at x is w_adv (σ(w·x) − 1) w: its norm,
    its cosine with the pixel gradient w_pix 2 (x − y) / N and ‖∂logit/∂x‖ = ‖w‖ are known."""
    rng = np.random.default_rng(2)
    sr, hr = (rng.uniform(0, 1, (5, 4, 4, 3)).astype(np.float32) for _ in range(2))
    w = rng.normal(size=(48, 1)).astype(np.float32) * 0.1
    linear = keras.Sequential(
        [keras.layers.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)]
    )
    linear.layers[-1].set_weights([w])
    pull = adversary.adversarial_pull(linear, sr, hr, batch_size=2, adversarial_weight=1e-3, pixel_weight=2.0)

    x, y = sr[:4].reshape(4, -1), hr[:4].reshape(4, -1)  # two whole batches; the fifth patch is left out
    p_real = 1 / (1 + np.exp(-(x @ w)[:, 0]))
    g_adv = 1e-3 * (p_real - 1)[:, None] * w[:, 0]
    g_pix = 2.0 * 2 * (x - y) / x.shape[1]
    np.testing.assert_allclose(pull["p_real"], p_real, rtol=1e-5)
    np.testing.assert_allclose(pull["adv_norm"], np.linalg.norm(g_adv, axis=1), rtol=1e-5)
    np.testing.assert_allclose(pull["pixel_norm"], np.linalg.norm(g_pix, axis=1), rtol=1e-5)
    cosine = np.sum(g_adv * g_pix, axis=1) / np.linalg.norm(g_adv, axis=1) / np.linalg.norm(g_pix, axis=1)
    np.testing.assert_allclose(pull["cosine"], cosine, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(pull["sensitivity"], np.full(4, np.linalg.norm(w)), rtol=1e-5)
    with pytest.raises(ValueError, match="fewer SR patches"):
        adversary.adversarial_pull(linear, sr[:1], hr[:1], 2, 1e-3, 1.0)
