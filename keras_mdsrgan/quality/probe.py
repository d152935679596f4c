"""A held-out probe of the discriminators: real HR patches against generated ones.

The probe cuts HR patches (the discriminators' input size) on a grid from validation images,
with their LR patches. Every discriminator then classifies the real patches against three kinds
of generated ones, scored in two modes:
  batch      each kind judged as a batch of its own with batch statistics, exactly as the
             discriminator judges during training (its moving statistics, which training never
             uses and which the mutual modes' extra peer passes would shift, are left as they were);
  inference  every patch judged with the moving statistics (``training=False``), so that a
             batch's own statistics cannot hide what tells its images apart.
The kinds:
  own      its own generator's SR of the LR patches,
  peers    every other pair's generator's SR (none when K = 1),
  bicubic  MATLAB bicubic of the LR patches, a fixed reference generator that never trains.
Scores (``discriminator_metrics.summary``, from the logits) are given per kind and for all of them together.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from keras_mdsrgan import names
from keras_mdsrgan.data import resize
from keras_mdsrgan.quality import discriminator_metrics

MAX_PATCHES = 64
MODES = ("batch", "inference")


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
    lrs = np.stack([lr[y : y + lr_patch, x : x + lr_patch] for lr, _, y, x in crops])
    hrs = np.stack(
        [hr[y * scale : (y + lr_patch) * scale, x * scale : (x + lr_patch) * scale] for _, hr, y, x in crops]
    )
    bicubic = np.stack([resize.imresize(patch, float(scale)).numpy() for patch in lrs])
    return Probe(*(a.astype(np.float32) / 255.0 for a in (lrs, hrs, bicubic)))


def _logits(discriminator, images: np.ndarray, mode: str) -> np.ndarray:
    """The logit of each image: in ``batch`` mode the batch judged as in training, batch-norm
    moving statistics restored; in ``inference`` mode with the moving statistics."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "inference":
        return tf.cast(discriminator(tf.constant(images), training=False), tf.float32)[:, 0].numpy()
    saved = [v.numpy() for v in discriminator.non_trainable_variables]
    logits = discriminator(tf.constant(images), training=True)
    for variable, value in zip(discriminator.non_trainable_variables, saved):
        variable.assign(value)
    return tf.cast(logits, tf.float32)[:, 0].numpy()


def discriminator_scores(generators, discriminators, probe: Probe, modes: tuple[str, ...] = MODES) -> dict:
    """{mode: {pairK: {"all" | "own" | "peers" | "bicubic": {acc, auc, nll, ece, brier}}}} for each
    of ``modes``; the generators run once for all of them."""
    srs = [tf.cast(g(tf.constant(probe.lr), training=False), tf.float32).numpy() for g in generators]
    return {
        mode: {names.pair_name(k): _pair_scores(d, k, srs, probe, mode) for k, d in enumerate(discriminators)}
        for mode in modes
    }


def _pair_scores(discriminator, k: int, srs: list, probe: Probe, mode: str) -> dict[str, dict]:
    real = _logits(discriminator, probe.hr, mode)
    fakes = {
        "own": _logits(discriminator, srs[k], mode),
        "peers": np.concatenate(
            [_logits(discriminator, sr, mode) for j, sr in enumerate(srs) if j != k] or [np.empty(0)]
        ),
        "bicubic": _logits(discriminator, probe.bicubic, mode),
    }
    per_kind = {"all": _summary(real, np.concatenate(list(fakes.values())))}
    per_kind.update({kind: _summary(real, fake) for kind, fake in fakes.items() if fake.size})
    return per_kind


def _summary(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    return discriminator_metrics.summary(
        np.concatenate([real, fake]), np.concatenate([np.ones(real.size), np.zeros(fake.size)])
    )
