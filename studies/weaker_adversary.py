"""Is distillation a weaker adversary? `independent` at a scaled adversarial weight against Study B.

Compares, paired over the seeds both have, the `independent` runs of a second generator study
(--weak: Study B's settings but a lower --adversarial_weight) with Study B's (--study)
`independent` and `ml` runs (docs/study/b/weaker_adversary_plan.md):
  weak − independent   does the weaker adversarial weight alone move the generators?
  ml − weak            does distillation do more than the weaker pull?
on the endpoint (Set5 PSNR primary, Holm over the two; SSIM and NIQE secondary) and the final
PSNR of every validation set (secondary); and whether ml − weak is equivalent to zero (TOST)
within half the effect it would explain, Study B's ml − independent endpoint PSNR. Writes
WEAK/comparison.json, comparison.md and comparison_plane.png (the endpoint PSNR–NIQE plane of
adv0, independent, ml and weak, each labelled with its adversarial weight).

  python studies/weaker_adversary.py --study=runs/study/b --weak=runs/study/b_weak
"""

from __future__ import annotations

import os
import statistics

import matplotlib
from absl import app, flags

import runner
import stats
from keras_mdsrgan import cli, files
from keras_mdsrgan.errors import UserError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PRIMARY = ("endpoint", "psnr")
SECONDARY = (("endpoint", "ssim"), ("endpoint", "niqe"))
COMPARISONS = (("weak", "independent"), ("ml", "weak"))

flags.DEFINE_string("study", os.path.join(runner.ROOT, "runs", "study", "b"), "Study B's generator_study.py folder.")
flags.DEFINE_string(
    "weak",
    os.path.join(runner.ROOT, "runs", "study", "b_weak"),
    "The generator_study.py folder of `independent` at the lower adversarial weight.",
)
FLAGS = flags.FLAGS


def arms(study: dict, weak: dict) -> dict[str, dict]:
    """{arm: {seed: run}} of the three arms compared; the weak study must match Study B but for the weight."""
    differs = sorted(
        k for k in study["settings"] if k != "adversarial_weight" and study["settings"][k] != weak["settings"].get(k)
    )
    if differs:
        raise UserError(f"the two studies differ in more than the adversarial weight: {', '.join(differs)}")
    return {"independent": study["runs"]["independent"], "ml": study["runs"]["ml"], "weak": weak["runs"]["independent"]}


def measures(runs: dict) -> list[tuple[str, str]]:
    """(where, metric) rows: the endpoint's, then the final PSNR of every validation set."""
    sets = next(iter(runs["weak"].values()))["final"]
    return [PRIMARY, *SECONDARY, *(("final " + name, "psnr") for name in sets)]


def value(run: dict, where: str, metric: str) -> float:
    return run["endpoint"][metric] if where == "endpoint" else run["final"][where.split(" ", 1)[1]][metric]


def compare(runs: dict) -> list[dict]:
    rows = []
    for a, b in COMPARISONS:
        seeds = sorted(set(runs[a]) & set(runs[b]), key=int)
        for where, metric in measures(runs):
            x, y = ([value(runs[arm][s], where, metric) for s in seeds] for arm in (a, b))
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "where": where,
                    "metric": metric,
                    "seeds": seeds,
                    "positive": sum(p > q for p, q in zip(x, y)),
                    **stats.paired_comparison(x, y),
                }
            )
    runner.add_holm([r for r in rows if (r["where"], r["metric"]) == PRIMARY])
    return rows


def equivalence(runs: dict) -> dict:
    """TOST of ml − weak endpoint PSNR within ± half of Study B's ml − independent effect."""

    def paired(a: str, b: str) -> tuple[list, list]:
        seeds = sorted(set(runs[a]) & set(runs[b]), key=int)
        return [value(runs[a][s], *PRIMARY) for s in seeds], [value(runs[b][s], *PRIMARY) for s in seeds]

    effect = stats.paired_comparison(*paired("ml", "independent"))["mean_diff"]
    return {"effect": effect, **stats.equivalence(*paired("ml", "weak"), margin=abs(effect) / 2)}


def plot_plane(study: dict, weak: dict, weights: dict, path: str) -> None:
    """Endpoint (NIQE, PSNR) of every arm of the comparison: a point per seed, a cross at the mean."""
    arms = {
        "adv0 (0)": study["runs"].get("adv0", {}),
        f"independent ({weights['study']:g})": study["runs"]["independent"],
        f"ml ({weights['study']:g})": study["runs"]["ml"],
        f"weak: independent ({weights['weak']:g})": weak["runs"]["independent"],
    }
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for i, (label, seeds) in enumerate((k, v) for k, v in arms.items() if v):
        points = [(r["endpoint"]["niqe"], r["endpoint"]["psnr"]) for r in seeds.values()]
        axis.scatter(*zip(*points), color=f"C{i}", s=18, alpha=0.6)
        mean = [statistics.fmean(v) for v in zip(*points)]
        axis.scatter(*mean, color=f"C{i}", marker="X", s=120, edgecolor="k", label=f"{label}, {len(points)} seeds")
    axis.set(
        xlabel="NIQE (lower is better)",
        ylabel="PSNR (dB)",
        title=f"endpoint on {next(iter(study['settings']['val']))}; arm (adversarial weight)",
    )
    axis.legend(fontsize=8)
    figure.tight_layout()
    files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    plt.close(figure)


def report(runs: dict, rows: list[dict], weights: dict, tost: dict) -> str:
    lines = [
        "# Study B: a weaker adversary without distillation",
        "",
        f"`weak`: independent at adversarial weight {weights['weak']:g}; `independent`, `ml`: Study B "
        f"at {weights['study']:g}. Means ± SD over seeds:",
        "",
        "| | " + " | ".join(f"{arm} ({len(r)})" for arm, r in runs.items()) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for where, metric in measures(runs):
        cells = [
            f"{statistics.fmean(v):.3f} ± {statistics.stdev(v):.3f}"
            for v in ([value(run, where, metric) for run in arm_runs.values()] for arm_runs in runs.values())
        ]
        lines.append(f"| {where} {metric} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired differences a − b, 95 % CI, two-sided paired t-test; Holm over the two endpoint PSNR rows:",
        "",
        "| a − b | measure | mean [95 % CI] | d_z | p | p_Holm | a > b |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['a']} − {r['b']} | {r['where']} {r['metric']} | {runner.difference_cells(r)} "
        f"| {r['positive']}/{r['n']} |"
        for r in rows
    ]
    shown = "shown" if tost["p"] < 0.05 else "not shown"
    lines += [
        "",
        f"Equivalence (TOST) of ml − weak endpoint PSNR within ± half of Study B's ml − independent effect "
        f"({tost['effect']:+.3f} dB, so ± {tost['margin']:.3f} dB): mean {tost['mean_diff']:+.3f}, 90 % CI "
        f"[{tost['ci90_low']:+.3f}, {tost['ci90_high']:+.3f}], p = {tost['p']:.3g}: equivalence at that margin is "
        f"{shown}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv) -> int:
    del argv
    try:
        study, weak = runner.read_study(FLAGS.study), runner.read_study(FLAGS.weak)
        runs = arms(study, weak)
    except UserError as err:
        return cli.user_error(err)
    rows, tost = compare(runs), equivalence(runs)
    weights = {"study": study["settings"]["adversarial_weight"], "weak": weak["settings"]["adversarial_weight"]}
    files.write_json(
        os.path.join(FLAGS.weak, "comparison.json"),
        {"adversarial_weight": weights, "comparisons": rows, "equivalence": tost},
    )
    text = report(runs, rows, weights, tost)
    plot_plane(study, weak, weights, os.path.join(FLAGS.weak, "comparison_plane.png"))
    files.write_text(os.path.join(FLAGS.weak, "comparison.md"), text)
    print(text)
    return 0


if __name__ == "__main__":
    app.run(main)
