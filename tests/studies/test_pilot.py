"""Study C's pilot rule (studies/pilot.py) on curves whose answer is known."""

import os
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "studies"))
import pilot  # noqa: E402

RULE = {"every": 500, "shortest": 1000, "budget": 4000, "niqe_gap": 0.3, "psnr_drop": 0.05, "last": 3}


def curves(niqe, psnr, every=250, steps=4000):
    return {
        "niqe": {s: niqe(s) for s in range(every, steps + 1, every)},
        "psnr": {s: psnr(s) for s in range(every, steps + 1, every)},
    }


def test_the_first_length_where_niqe_separated_and_psnr_settled():
    adv0 = curves(lambda s: 8.0, lambda s: 30.0)
    # NIQE falls 0.1 per 500 steps; PSNR falls 0.2 dB per 500 steps until 2000, then 0.02.
    independent = curves(
        lambda s: 8.0 - 0.2 * s / 1000, lambda s: 30.0 - 0.4 * min(s, 2000) / 1000 - 0.04 * max(s - 2000, 0) / 1000
    )
    result = pilot.decide(adv0, independent, **RULE)
    by_length = {c["length"]: c for c in result["candidates"]}
    assert sorted(by_length) == [1000, 1500, 2000, 2500, 3000, 3500, 4000]
    # At 2000: NIQE gap = mean of 8 - 0.2 * (1.5, 1.75, 2.0) below 8 = 0.35, but PSNR fell 0.2 over 1500..2000.
    assert by_length[2000]["separated"] and not by_length[2000]["settled"]
    assert result == {**result, "length": 2500, "rule_met": True}


def test_the_budget_when_niqe_never_separates():
    adv0 = curves(lambda s: 8.0, lambda s: 30.0)
    independent = curves(lambda s: 7.9, lambda s: 29.0)
    result = pilot.decide(adv0, independent, **RULE)
    assert result["length"] == 4000 and not result["rule_met"]
    assert "the stage ends before NIQE separated" in pilot.markdown(result, RULE)
