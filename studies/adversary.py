"""How hard a discriminator pulls a generator (Study B's adversary probe, adversary_probe.py):
the gradient its adversarial loss puts on the generated images, beside the pixel loss's."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_mdsrgan.model import losses


def adversarial_pull(
    discriminator, sr: np.ndarray, hr: np.ndarray, batch_size: int, adversarial_weight: float, pixel_weight: float
) -> dict[str, np.ndarray]:
    """Per SR patch, the gradients a generator's losses put on it: g_adv of its adversarial loss
    (``adversarial_weight`` · BCE(D(SR), real)) and g_pix of its pixel loss (``pixel_weight`` ·
    MSE(SR, HR)). Returns per patch ``adv_norm`` ‖g_adv‖, ``pixel_norm`` ‖g_pix‖, ``cosine`` of the
    two (> 0: the adversary pulls towards HR as the pixel loss does), ``p_real`` D's P(real) and
    ``sensitivity`` ‖∂logit/∂SR‖. D judges whole batches of ``batch_size`` with batch statistics,
    as in training (a last partial batch is left out)."""
    rows = []
    for start in range(0, len(sr) - batch_size + 1, batch_size):
        x, y = tf.constant(sr[start : start + batch_size]), tf.constant(hr[start : start + batch_size])
        logits, gradients = _gradients(discriminator, x, y, adversarial_weight, pixel_weight)
        g_adv, g_pix, g_logit = (tf.reshape(g, (batch_size, -1)).numpy() for g in gradients)
        adv_norm, pixel_norm = np.linalg.norm(g_adv, axis=1), np.linalg.norm(g_pix, axis=1)
        rows.append(
            {
                "adv_norm": adv_norm,
                "pixel_norm": pixel_norm,
                "cosine": np.sum(g_adv * g_pix, axis=1) / (adv_norm * pixel_norm),
                "p_real": tf.sigmoid(logits[:, 0]).numpy(),
                "sensitivity": np.linalg.norm(g_logit, axis=1),
            }
        )
    if not rows:
        raise ValueError(f"fewer SR patches ({len(sr)}) than one batch ({batch_size})")
    return {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}


@tf.function(autograph=False)
def _gradients(discriminator, x, y, adversarial_weight: float, pixel_weight: float):
    """D's logits on a batch and the gradients on it of g_adv, g_pix and the logits' sum; traced
    once per discriminator and batch shape (eagerly, a probe of many batches took seconds each)."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = tf.cast(discriminator(x, training=True), tf.float32)
        adversarial = adversarial_weight * tf.reduce_sum(losses.adversarial_loss(logits, is_real=True))
        pixel = pixel_weight * tf.reduce_sum(losses.pixel_loss(y, x))
        logit_sum = tf.reduce_sum(logits)
    return logits, [tape.gradient(t, x) for t in (adversarial, pixel, logit_sum)]
