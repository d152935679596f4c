"""A held-out probe of the discriminators: real HR patches against generated ones.

The probe cuts HR patches (the discriminators' input size) on a grid from validation images,
with their LR patches. Every discriminator then classifies the real patches against three kinds
of generated ones, each kind judged as a batch of its own with batch statistics, exactly as the
discriminator judges during training (its moving statistics, which training never uses and
which the mutual modes' extra peer passes would shift, are left as they were):
  own      its own generator's SR of the LR patches,
  peers    every other pair's generator's SR (none when K = 1),
  bicubic  MATLAB bicubic of the LR patches, a fixed reference generator that never trains.
Scores (``discriminator_metrics.summary``) are given per kind and for all of them together.
``adversarial_pull`` measures, instead of how well a discriminator classifies, how hard it pulls
a generator: the gradient its adversarial loss puts on the generated images.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from keras_mdsrgan import discriminator_metrics, losses, names, resize

MAX_PATCHES = 64


@dataclasses.dataclass(frozen=True)
class Probe:
    """LR and HR patches (float32 in [0, 1]) and the fixed reference SR of each LR patch."""

    lr: np.ndarray
    hr: np.ndarray
    bicubic: np.ndarray


def make_probe(images, scale: int, hr_patch: int, max_patches: int = MAX_PATCHES) -> Probe | None:
    """Non-overlapping HR patches on a grid over ``images`` ((name, lr, hr, grey) tuples), taking
    images in turn so that each contributes; None when no image holds one patch."""
    lr_patch = hr_patch // scale
    grids = []
    for _, lr, hr, _ in images:
        rows, cols = lr.shape[0] // lr_patch, lr.shape[1] // lr_patch
        grids.append([(lr, hr, r * lr_patch, c * lr_patch) for r in range(rows) for c in range(cols)])
    crops = [grid[i] for i in range(max(map(len, grids), default=0)) for grid in grids if i < len(grid)]
    crops = crops[:max_patches]
    if not crops:
        return None
    lrs = np.stack([lr[y:y + lr_patch, x:x + lr_patch] for lr, _, y, x in crops])
    hrs = np.stack([hr[y * scale:(y + lr_patch) * scale, x * scale:(x + lr_patch) * scale] for _, hr, y, x in crops])
    bicubic = np.stack([resize.imresize(patch, float(scale)).numpy() for patch in lrs])
    return Probe(*(a.astype(np.float32) / 255.0 for a in (lrs, hrs, bicubic)))


def _real_probability(discriminator, images: np.ndarray) -> np.ndarray:
    """P(real) of each image, the batch judged as in training; batch-norm moving statistics restored."""
    saved = [v.numpy() for v in discriminator.non_trainable_variables]
    logits = discriminator(tf.constant(images), training=True)
    for variable, value in zip(discriminator.non_trainable_variables, saved):
        variable.assign(value)
    return tf.sigmoid(tf.cast(logits, tf.float32))[:, 0].numpy()


def discriminator_scores(generators, discriminators, probe: Probe) -> dict[str, dict[str, dict]]:
    """{pairK: {"all" | "own" | "peers" | "bicubic": {acc, auc, nll, ece, brier}}}."""
    srs = [tf.cast(g(tf.constant(probe.lr), training=False), tf.float32).numpy() for g in generators]
    scores = {}
    for k, d in enumerate(discriminators):
        real = _real_probability(d, probe.hr)
        fakes = {"own": _real_probability(d, srs[k]),
                 "peers": np.concatenate([_real_probability(d, sr) for j, sr in enumerate(srs) if j != k] or
                                         [np.empty(0)]),
                 "bicubic": _real_probability(d, probe.bicubic)}
        per_kind = {"all": _summary(real, np.concatenate(list(fakes.values())))}
        per_kind.update({kind: _summary(real, fake) for kind, fake in fakes.items() if fake.size})
        scores[names.pair_name(k)] = per_kind
    return scores


def _summary(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    return discriminator_metrics.summary(np.concatenate([real, fake]),
                                         np.concatenate([np.ones(real.size), np.zeros(fake.size)]))


def adversarial_pull(discriminator, sr: np.ndarray, hr: np.ndarray, batch_size: int, adversarial_weight: float,
                     pixel_weight: float) -> dict[str, np.ndarray]:
    """Per SR patch, the gradients a generator's losses put on it: g_adv of its adversarial loss
    (``adversarial_weight`` · BCE(D(SR), real)) and g_pix of its pixel loss (``pixel_weight`` ·
    MSE(SR, HR)). Returns per patch ``adv_norm`` ‖g_adv‖, ``pixel_norm`` ‖g_pix‖, ``cosine`` of the
    two (> 0: the adversary pulls towards HR as the pixel loss does), ``p_real`` D's P(real) and
    ``sensitivity`` ‖∂logit/∂SR‖. D judges whole batches of ``batch_size`` with batch statistics,
    as in training (a last partial batch is left out)."""
    rows = []
    for start in range(0, len(sr) - batch_size + 1, batch_size):
        x, y = tf.constant(sr[start:start + batch_size]), tf.constant(hr[start:start + batch_size])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            logits = tf.cast(discriminator(x, training=True), tf.float32)
            adversarial = adversarial_weight * tf.reduce_sum(losses.adversarial_loss(logits, is_real=True))
            pixel = pixel_weight * tf.reduce_sum(losses.pixel_loss(y, x))
            logit_sum = tf.reduce_sum(logits)
        g_adv, g_pix, g_logit = (tf.reshape(tape.gradient(t, x), (batch_size, -1)).numpy()
                                 for t in (adversarial, pixel, logit_sum))
        adv_norm, pixel_norm = np.linalg.norm(g_adv, axis=1), np.linalg.norm(g_pix, axis=1)
        rows.append({"adv_norm": adv_norm, "pixel_norm": pixel_norm,
                     "cosine": np.sum(g_adv * g_pix, axis=1) / (adv_norm * pixel_norm),
                     "p_real": tf.sigmoid(logits[:, 0]).numpy(), "sensitivity": np.linalg.norm(g_logit, axis=1)})
    if not rows:
        raise ValueError(f"fewer SR patches ({len(sr)}) than one batch ({batch_size})")
    return {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}
