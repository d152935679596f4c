"""How good a discriminator is, as a probabilistic classifier of real (1) vs generated (0) images.

Pure NumPy functions of the predicted probabilities p = P(real) and the labels y ∈ {0, 1}:
accuracy at 0.5, ROC-AUC (threshold-free ranking quality), NLL (mean binary cross-entropy),
Brier score (mean squared error of p) and ECE (expected calibration error: the gap between
mean p and the fraction of real images in 15 equal-width bins of p, weighted by bin size; the
reliability of P(real) itself, as in Naeini et al. 2015 for one binary output). Lower is better
for NLL, Brier and ECE.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ECE_BINS = 15
_EPS = 1e-12  # keeps the NLL of a saturated wrong prediction finite


def _checked(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(probs, np.float64).ravel(), np.asarray(labels).ravel()
    if p.shape != y.shape or p.size == 0:
        raise ValueError(f"need as many labels as probabilities, got {p.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (generated) or 1 (real)")
    return np.clip(p, 0.0, 1.0), y.astype(np.float64)


def accuracy(probs, labels, threshold: float = 0.5) -> float:
    """Fraction classified right, p > threshold meaning real."""
    p, y = _checked(probs, labels)
    return float(np.mean((p > threshold) == (y == 1)))


def roc_auc(probs, labels) -> float:
    """Area under the ROC curve: P(p_real > p_generated), ties counted half (Mann–Whitney U)."""
    p, y = _checked(probs, labels)
    positives, negatives = int(y.sum()), int((1 - y).sum())
    if not positives or not negatives:
        raise ValueError("ROC-AUC needs both real and generated examples")
    ranks = stats.rankdata(p)  # average ranks for ties
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def nll(probs, labels) -> float:
    """Mean negative log-likelihood of the labels (binary cross-entropy, natural log)."""
    p, y = _checked(probs, labels)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(probs, labels) -> float:
    """Mean squared difference between p and the label."""
    p, y = _checked(probs, labels)
    return float(np.mean((p - y) ** 2))


def ece(probs, labels, bins: int = ECE_BINS) -> float:
    """Expected calibration error of P(real) over ``bins`` equal-width bins of [0, 1]."""
    p, y = _checked(probs, labels)
    index = np.minimum((p * bins).astype(int), bins - 1)  # p = 1 falls in the last bin
    gap = 0.0
    for b in np.unique(index):
        members = index == b
        gap += members.sum() * abs(p[members].mean() - y[members].mean())
    return float(gap / p.size)


def summary(probs, labels) -> dict[str, float]:
    """All five scores, keyed as they are logged: acc, auc, nll, ece, brier."""
    return {
        "acc": accuracy(probs, labels),
        "auc": roc_auc(probs, labels),
        "nll": nll(probs, labels),
        "ece": ece(probs, labels),
        "brier": brier(probs, labels),
    }
