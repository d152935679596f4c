"""Study C's pilot (docs/study/c/plan.md §1): the GAN stage length L, by the rule fixed before it ran.

Reads the pilot's generator_study.py folder (arms `adv0` and `independent`, one seed, validations
on the holdout). L is the first multiple of --every steps, at least --shortest and at most
--budget, at which
  (a) `independent`'s NIQE is below `adv0`'s by at least --niqe_gap (each the mean of its last
      --last validations up to that step), and
  (b) `independent`'s PSNR fell by less than --psnr_drop dB over the last --every steps;
if the budget binds first, L is the budget and the report says NIQE had not separated. Writes
OUT/pilot.json and pilot.md (the curves' values at each candidate and the decision).

  python studies/pilot.py --study=runs/c/pilot --out=docs/study/c
"""

from __future__ import annotations

import os
import statistics

from absl import app, flags

import runner
from keras_mdsrgan import cli, files
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags: defined when it runs, so that tests may import its functions beside
    other scripts'."""
    flags.DEFINE_string("study", None, "The pilot's generator_study.py output folder.")
    flags.DEFINE_string("out", None, "Where pilot.json and pilot.md go (default: --study).")
    flags.DEFINE_string("seed", "0", "The pilot's seed.")
    flags.DEFINE_integer("every", 500, "Candidate stage lengths are multiples of this.")
    flags.DEFINE_integer("shortest", 1000, "The shortest stage (Study B's).")
    flags.DEFINE_integer("budget", 4000, "The longest stage the budget allows.")
    flags.DEFINE_float("niqe_gap", 0.3, "How far independent's NIQE must be below adv0's.")
    flags.DEFINE_float("psnr_drop", 0.05, "Largest PSNR fall over the last --every steps that counts as settled.")
    flags.DEFINE_integer("last", 3, "Validations averaged for the NIQE comparison.")


def mean_of_last(curve: dict[int, float], step: int, count: int) -> float | None:
    """Mean of the last ``count`` values at or before ``step``; None with fewer."""
    values = [curve[s] for s in sorted(curve) if s <= step][-count:]
    return statistics.fmean(values) if len(values) == count else None


def value_at(curve: dict[int, float], step: int) -> float | None:
    """The curve at ``step``, or at its latest validation before it."""
    before = [s for s in curve if s <= step]
    return curve[max(before)] if before else None


def decide(
    adv0: dict, independent: dict, every: int, shortest: int, budget: int, niqe_gap: float, psnr_drop: float, last: int
) -> dict:
    """The rule, at each candidate length; ``adv0`` and ``independent`` are {metric: {step: value}}."""
    candidates = []
    for length in range(max(every, -(-shortest // every) * every), budget + 1, every):
        ind_niqe, adv_niqe = (mean_of_last(c["niqe"], length, last) for c in (independent, adv0))
        now, before = value_at(independent["psnr"], length), value_at(independent["psnr"], length - every)
        gap = None if ind_niqe is None or adv_niqe is None else adv_niqe - ind_niqe
        drop = None if now is None or before is None else before - now
        separated = gap is not None and gap >= niqe_gap
        settled = drop is not None and drop < psnr_drop
        candidates.append(
            {"length": length, "niqe_gap": gap, "psnr_drop": drop, "separated": separated, "settled": settled}
        )
    chosen = next((c for c in candidates if c["separated"] and c["settled"]), None)
    return {
        "candidates": candidates,
        "length": chosen["length"] if chosen else budget,
        "rule_met": chosen is not None,
    }


def markdown(result: dict, rule: dict) -> str:
    lines = [
        "# Study C's pilot: the GAN stage length",
        "",
        f"Rule (docs/study/c/plan.md §1): the first multiple of {rule['every']} steps (≥ {rule['shortest']}, ≤ "
        f"{rule['budget']}) where `independent`'s holdout NIQE is ≥ {rule['niqe_gap']} below `adv0`'s (means of "
        f"the last {rule['last']} validations) and its PSNR fell < {rule['psnr_drop']} dB over the last "
        f"{rule['every']} steps.",
        "",
        "| steps | adv0 − independent NIQE | independent PSNR fall | separated | settled |",
        "|---|---|---|---|---|",
    ]
    for c in result["candidates"]:
        gap = "n/a" if c["niqe_gap"] is None else f"{c['niqe_gap']:+.3f}"
        drop = "n/a" if c["psnr_drop"] is None else f"{c['psnr_drop']:+.3f}"
        lines.append(f"| {c['length']} | {gap} | {drop} | {c['separated']} | {c['settled']} |")
    verdict = (
        f"**L = {result['length']}**: the rule holds there."
        if result["rule_met"]
        else f"**L = {result['length']}**, the budget: the stage ends before NIQE separated as the rule asks."
    )
    return "\n".join([*lines, "", verdict]) + "\n"


def main(argv) -> int:
    del argv
    try:
        runs = runner.read_study(FLAGS.study)["runs"]
    except UserError as err:
        return cli.user_error(err)

    def curves(arm):
        return {m: {int(s): v for s, v in c.items()} for m, c in runs[arm][FLAGS.seed]["curves"].items()}

    rule = {k: FLAGS[k].value for k in ("every", "shortest", "budget", "niqe_gap", "psnr_drop", "last")}
    result = {**decide(curves("adv0"), curves("independent"), **rule), "rule": rule}
    out = FLAGS.out or FLAGS.study
    files.write_json(os.path.join(out, "pilot.json"), result)
    text = markdown(result, rule)
    files.write_text(os.path.join(out, "pilot.md"), text)
    print(text)
    return 0


if __name__ == "__main__":
    define_flags()
    flags.mark_flag_as_required("study")
    app.run(main)
