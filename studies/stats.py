"""Paired comparisons over seeds: the statistics of the discriminator study.

Pure functions: a paired t-test with its mean difference, 95 % confidence interval and effect
size (Cohen's d_z = mean difference / SD of the differences), an equivalence test (TOST: two
one-sided paired t-tests against ± a margin, with the 90 % CI it matches), Holm's step-down correction
of a family of p-values (controls the family-wise error rate without assuming independence),
and the seeds a paired t-test needs to detect a given d_z (the power statement of a study).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def paired_comparison(a, b, confidence: float = 0.95, alternative: str = "two-sided") -> dict[str, float]:
    """a − b over paired seeds: mean, two-sided CI, d_z and the paired t-test's p (needs ≥ 2 pairs);
    ``alternative`` "greater" / "less" makes the test one-sided (a replication's known direction)."""
    diffs = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if diffs.size < 2:
        raise ValueError("a paired comparison needs at least 2 pairs")
    mean, sd = float(diffs.mean()), float(diffs.std(ddof=1))
    half = stats.t.ppf((1 + confidence) / 2, diffs.size - 1) * sd / math.sqrt(diffs.size)
    if sd > 0:
        p = float(stats.ttest_rel(a, b, alternative=alternative).pvalue)
    else:  # every difference the same: certain, in whichever direction it lies
        agrees = {"two-sided": mean != 0, "greater": mean > 0, "less": mean < 0}[alternative]
        p = 0.0 if agrees else 1.0
    return {
        "mean_diff": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "cohens_dz": mean / sd if sd > 0 else math.copysign(math.inf, mean) if mean else 0.0,
        "p": p,
        "n": int(diffs.size),
    }


def equivalence(a, b, margin: float) -> dict[str, float]:
    """TOST of a − b over paired seeds within ± ``margin``: p is the larger of the two one-sided
    p-values (H0: mean ≤ −margin, H0: mean ≥ +margin); p < α exactly when the (1 − 2α) CI lies
    inside the margin. Needs ≥ 2 pairs and differences with spread."""
    diffs = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if diffs.size < 2 or margin <= 0:
        raise ValueError("an equivalence test needs at least 2 pairs and a positive margin")
    mean, se = float(diffs.mean()), float(diffs.std(ddof=1)) / math.sqrt(diffs.size)
    if se == 0:
        raise ValueError("an equivalence test needs differences that vary")
    df = diffs.size - 1
    p = max(float(stats.t.sf((mean + margin) / se, df)), float(stats.t.cdf((mean - margin) / se, df)))
    half = stats.t.ppf(0.95, df) * se
    return {"margin": margin, "mean_diff": mean, "ci90_low": mean - half, "ci90_high": mean + half, "p": p}


def replication(first_a, first_b, later_a, later_b) -> dict[str, float] | None:
    """a − b on later seeds, tested one-sided in the direction of the earlier seeds' mean difference
    (a replication of what a first look showed); None when that difference is 0."""
    first = float(np.mean(np.subtract(first_a, first_b, dtype=np.float64)))
    if first == 0:
        return None
    direction = "greater" if first > 0 else "less"
    return {**paired_comparison(later_a, later_b, alternative=direction), "alternative": direction}


def holm(p_values) -> list[float]:
    """Holm-adjusted p-values, in the input order (monotone, capped at 1)."""
    p = np.asarray(p_values, np.float64)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def seeds_for_power(dz: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Seeds a two-sided paired t-test needs to detect d_z with this power (noncentral t, searched
    upwards from the normal approximation ((z_{1-α/2} + z_power) / d_z)², a lower bound);
    None for d_z = 0 (no number of seeds), 2 for an infinite d_z (differences without spread)."""
    if dz == 0 or math.isnan(dz):
        return None
    if math.isinf(dz):
        return 2
    z = stats.norm.ppf
    n = max(2, math.ceil(((z(1 - alpha / 2) + z(power)) / dz) ** 2))
    while True:
        crit, nc = stats.t.ppf(1 - alpha / 2, n - 1), abs(dz) * math.sqrt(n)
        if stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc) >= power:
            return n
        n += 1
