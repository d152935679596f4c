import json
import os
import sys

import keras
import numpy as np
import pytest

from conftest import REPO, run_python

STUDIES = os.path.join(REPO, "studies")
sys.path.insert(0, STUDIES)
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


def test_probe_of_a_run_whose_data_is_gone_is_one_line(tmp_path):
    """adversary_probe.py on a finished run whose validation folder no longer exists: the
    package's one-line error (exit 2), not a traceback."""
    run = tmp_path / "study" / "runs" / "ml_seed0"
    run.mkdir(parents=True)
    (run / "results.json").write_text("{}")
    config = {
        "model": {"num_pairs": 1, "gen_filters": 4, "gen_blocks": 1, "disc_filters": 4, "disc_dense": 8},
        "data": {"scale": 2, "hr_patch": 16, "batch_size": 2, "val": [str(tmp_path / "gone")], "val_max_images": 1},
        "loss": {"adversarial_weight": 1e-3, "pixel_weight": 1.0},
        "train": {"init_generator": str(tmp_path / "start.keras")},
    }
    (run / "config.json").write_text(json.dumps(config))
    result = run_python("adversary_probe.py", f"--study={tmp_path / 'study'}", "--arms=ml", cwd=STUDIES, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'gone'}")
