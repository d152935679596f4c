"""What each discriminator distills towards: one small function per mode.

Each function takes the K discriminators' tempered probabilities on the same inputs (already
stop-gradient'ed, so targets are constants) and the student's index k, and returns the list
of target probabilities that D_k's KL term is averaged over. Swap in a new definition by
adding a function to ``TARGETS``: its key becomes a ``--mode`` (``config.MODES`` is derived
from it). Plain Python arithmetic on the tensors, so this module imports without TensorFlow; the
functions run inside the traced step without AutoGraph, so a branch on a tensor must be an op.
"""

from __future__ import annotations


def peer_targets(probs: list, k: int) -> list:
    """``ml`` (Deep Mutual Learning, Zhang et al. 2018): every peer j ≠ k, equally weighted."""
    return [p for j, p in enumerate(probs) if j != k]


def ensemble_targets(probs: list, k: int) -> list:
    """``ml_star`` (our definition): the cohort's mean prediction, D_k's own included."""
    del k  # the ensemble is the same target for every student
    return [sum(probs) / len(probs)]


def label_targets(probs: list, k: int) -> list:
    """``labels`` (a control, ours): the true labels (HR real, every generator's SR fake) in place
    of the peers' predictions. The same sources and weight as ``ml``, none of the peers' knowledge:
    where ``ml`` beats it, the peers' soft targets helped, not merely the extra fakes."""
    sources = len(probs) + 1  # rows of probs[k]: HR, then SR_0 .. SR_K-1
    return [probs[k] * 0.0 + ([[1.0]] + [[0.0]] * (sources - 1))]


TARGETS = {"ml": peer_targets, "ml_star": ensemble_targets, "labels": label_targets}
