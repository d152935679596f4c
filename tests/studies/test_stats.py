import math
import os
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "studies"))
import stats  # noqa: E402  (studies/stats.py)


def test_paired_comparison_matches_scipy_and_hand_values():
    a, b = [0.9, 0.8, 0.85, 0.95, 0.7], [0.8, 0.82, 0.8, 0.9, 0.6]
    result = stats.paired_comparison(a, b)
    diffs = np.subtract(a, b)
    assert result["mean_diff"] == pytest.approx(diffs.mean())
    assert result["p"] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert result["cohens_dz"] == pytest.approx(diffs.mean() / diffs.std(ddof=1))
    half = scipy_stats.t.ppf(0.975, 4) * diffs.std(ddof=1) / math.sqrt(5)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert result["n"] == 5
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_comparison([1.0], [0.5])


def test_one_sided_comparison_halves_p_in_its_direction():
    a, b = [0.9, 0.8, 0.85, 0.95, 0.7], [0.8, 0.82, 0.8, 0.9, 0.6]
    two_sided = stats.paired_comparison(a, b)["p"]
    assert stats.paired_comparison(a, b, alternative="greater")["p"] == pytest.approx(two_sided / 2)
    assert stats.paired_comparison(a, b, alternative="less")["p"] == pytest.approx(1 - two_sided / 2)
    assert stats.paired_comparison([1.0, 1.0], [0.5, 0.5], alternative="less")["p"] == 1.0  # constant, wrong way


def test_replication_tests_later_seeds_in_the_first_looks_direction():
    later_a, later_b = [0.9, 0.8, 0.85, 0.95, 0.7], [0.8, 0.82, 0.8, 0.9, 0.6]
    two_sided = stats.paired_comparison(later_a, later_b)["p"]
    up = stats.replication([2.0, 3.0], [1.0, 1.0], later_a, later_b)  # first look: a > b
    assert up["alternative"] == "greater" and up["p"] == pytest.approx(two_sided / 2)
    down = stats.replication([0.0, 0.0], [1.0, 1.0], later_a, later_b)  # first look: a < b
    assert down["alternative"] == "less" and down["p"] == pytest.approx(1 - two_sided / 2)
    assert stats.replication([1.0, 2.0], [1.0, 2.0], later_a, later_b) is None  # no direction to replicate


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04, 0.30 -> 4*0.01, 3*0.02, max(2*0.04, 0.06), max(1*0.30, 0.08)
    assert stats.holm([0.04, 0.01, 0.30, 0.02]) == pytest.approx([0.08, 0.04, 0.30, 0.06])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_seeds_for_power_matches_gpower_tables():
    # G*Power, matched-pairs t-test, two-sided α = 0.05, power 0.8: d_z 0.5 -> 34, 0.8 -> 15, 1.0 -> 10.
    assert [stats.seeds_for_power(dz) for dz in (0.5, 0.8, 1.0, -1.0)] == [34, 15, 10, 10]
    assert stats.seeds_for_power(0.0) is None and stats.seeds_for_power(math.inf) == 2


def test_equivalence_is_two_one_sided_tests_and_agrees_with_the_90_ci():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.02, 0.1, 9), np.zeros(9)
    result = stats.equivalence(a, b, margin=0.15)
    lower = scipy_stats.ttest_1samp(a + 0.15, 0.0, alternative="greater").pvalue
    upper = scipy_stats.ttest_1samp(a - 0.15, 0.0, alternative="less").pvalue
    assert result["p"] == pytest.approx(max(lower, upper), rel=1e-9)
    for margin in (0.05, 0.1, 0.15, 0.3):  # p < 0.05 exactly when the 90 % CI lies inside the margin
        r = stats.equivalence(a, b, margin)
        assert (r["p"] < 0.05) == (-margin < r["ci90_low"] and r["ci90_high"] < margin)
    with pytest.raises(ValueError, match="positive margin"):
        stats.equivalence(a, b, 0.0)
