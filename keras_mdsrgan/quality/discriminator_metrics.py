"""How good a discriminator is, as a probabilistic classifier of real (1) vs generated (0) images.

Pure NumPy functions of the discriminator's logits z (P(real) = sigmoid(z), in float64) and the
labels y ∈ {0, 1}: accuracy at P = 0.5 (z > 0), ROC-AUC (threshold-free ranking quality, on the
logits, so no tie from saturation), NLL (mean binary cross-entropy, from the logits: a float32
P(real) becomes exactly 1 above z ≈ 17, which would cap a confident mistake's cost whatever its
logit), Brier score (mean squared error of P) and ECE (expected calibration error: the gap
between mean P and the fraction of real images in 15 equal-width bins of P, weighted by bin size;
the reliability of P(real) itself, as in Naeini et al. 2015 for one binary output). Lower is
better for NLL, Brier and ECE.
"""

from __future__ import annotations

import numpy as np
from scipy import special

ECE_BINS = 15


def _checked(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z, y = np.asarray(logits, np.float64).ravel(), np.asarray(labels).ravel()
    if z.shape != y.shape or z.size == 0:
        raise ValueError(f"need as many labels as logits, got {z.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (generated) or 1 (real)")
    if np.isnan(z).any():
        raise ValueError("a logit is NaN")
    return z, y.astype(np.float64)


def _probabilities(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z, y = _checked(logits, labels)
    return special.expit(z), y


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given the mean of their ranks (scipy.stats.rankdata's default), without
    importing scipy.stats into every training process's start-up."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # the rank of each distinct value's last copy
    return (last - (counts - 1) / 2)[inverse]


def accuracy(logits, labels) -> float:
    """Fraction classified right, z > 0 (P(real) > 0.5) meaning real."""
    z, y = _checked(logits, labels)
    return float(np.mean((z > 0) == (y == 1)))


def roc_auc(logits, labels) -> float:
    """Area under the ROC curve: P(z_real > z_generated), ties counted half (Mann–Whitney U)."""
    z, y = _checked(logits, labels)
    positives, negatives = int(y.sum()), int((1 - y).sum())
    if not positives or not negatives:
        raise ValueError("ROC-AUC needs both real and generated examples")
    ranks = _average_ranks(z)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def nll(logits, labels) -> float:
    """Mean negative log-likelihood of the labels in nats: log(1 + exp(-z)) for a real image,
    log(1 + exp(z)) for a generated one, exact at any logit."""
    z, y = _checked(logits, labels)
    return float(np.mean(np.logaddexp(0.0, -(2 * y - 1) * z)))


def brier(logits, labels) -> float:
    """Mean squared difference between P(real) and the label."""
    p, y = _probabilities(logits, labels)
    return float(np.mean((p - y) ** 2))


def ece(logits, labels, bins: int = ECE_BINS) -> float:
    """Expected calibration error of P(real) over ``bins`` equal-width bins of [0, 1]."""
    p, y = _probabilities(logits, labels)
    index = np.minimum((p * bins).astype(int), bins - 1)  # p = 1 falls in the last bin
    gap = 0.0
    for b in np.unique(index):
        members = index == b
        gap += members.sum() * abs(p[members].mean() - y[members].mean())
    return float(gap / p.size)


def summary(logits, labels) -> dict[str, float]:
    """All five scores, keyed as they are logged: acc, auc, nll, ece, brier."""
    return {
        "acc": accuracy(logits, labels),
        "auc": roc_auc(logits, labels),
        "nll": nll(logits, labels),
        "ece": ece(logits, labels),
        "brier": brier(logits, labels),
    }
