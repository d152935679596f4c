"""Study C's primary endpoint (docs/study/c/plan.md): is `ml` beyond `independent`'s
perception–distortion frontier?

Reads generator_study.py output folders, one per adversarial weight: --independent folders
(arm `independent`) make each seed's frontier, --ml folders (arm `ml`) are the points tested.
A run's point is its final (PSNR, NIQE) pooled over --sets (each set's mean weighted by its
images). Per seed, with the frontier the polyline through that seed's `independent` points in
order of weight:
  ΔNIQE  `ml`'s NIQE minus the frontier's NIQE at `ml`'s PSNR,
  ΔPSNR  `ml`'s PSNR minus the frontier's PSNR at `ml`'s NIQE;
where the polyline crosses that PSNR (NIQE) more than once the best crossing counts (lowest
NIQE, highest PSNR), and a point outside the range the polyline spans is not extrapolated: that
seed is left out of the row, and counted. `ml` beyond the frontier: ΔNIQE < 0 or ΔPSNR > 0.
One family: each `ml` weight × the two distances, one-sample t-tests against 0 with 95 % CIs,
Holm over the family. Secondary looks, each p before any correction (plan §2): `ml` at w against
`independent` at 0.75 w (matched pull) and at w, paired by seed, in PSNR, NIQE and the
discriminators' AUC (training- and inference-mode batch norm); the same distances on
--secondary_sets. Writes OUT/frontier.json, frontier.md and plane.png (every run's point, `adv0`'s
where a folder has them, the frontier per seed and in the mean).

  python studies/frontier.py --independent=5e-4=runs/c/w0.5,1e-3=runs/c/w1,... \
      --ml=7.5e-4=runs/c/ml0.75,1e-3=runs/c/ml1 --out=docs/study/c
"""

from __future__ import annotations

import math
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

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags: defined when it runs, so that tests may import its functions beside
    other scripts'."""
    flags.DEFINE_list(
        "independent", [], "WEIGHT=FOLDER of generator_study.py outputs whose `independent` runs make the frontier."
    )
    flags.DEFINE_list("ml", [], "WEIGHT=FOLDER of generator_study.py outputs whose `ml` runs are tested.")
    flags.DEFINE_list("sets", ["Set5", "Set14"], "Validation sets pooled into a run's point.")
    flags.DEFINE_list("secondary_sets", ["holdout"], "Validation sets of the secondary distances (pooled).")
    flags.DEFINE_string("out", None, "Where frontier.json, frontier.md and plane.png go.")


SECONDARY_METRICS = ("psnr", "niqe", "d_auc", "d_inference_auc")


def pooled(run: dict, sets: list[str], metric: str) -> float:
    """A run's final ``metric`` over ``sets``, each set's mean weighted by its images."""
    if not sets:
        raise UserError("no validation sets given")
    try:
        finals = [run["final"][name] for name in sets]
        return sum(f[metric] * f["n_images"] for f in finals) / sum(f["n_images"] for f in finals)
    except KeyError as err:
        raise UserError(f"a run has no final {err.args[0]} score (sets {', '.join(sets)})") from None


def point(run: dict, sets: list[str]) -> tuple[float, float]:
    """(PSNR, NIQE) of a run's final scores over ``sets``."""
    return pooled(run, sets, "psnr"), pooled(run, sets, "niqe")


def crossing(polyline: list[tuple[float, float]], value: float, axis: int, best) -> float | None:
    """The other coordinate of ``polyline`` where its ``axis`` coordinate equals ``value``, the
    ``best`` (min or max) of the crossings; None outside the polyline's range."""
    found = []
    for a, b in zip(polyline, polyline[1:]):
        low, high = sorted((a[axis], b[axis]))
        if low <= value <= high:
            if a[axis] == b[axis]:
                found += [a[1 - axis], b[1 - axis]]
            else:
                t = (value - a[axis]) / (b[axis] - a[axis])
                found.append(a[1 - axis] + t * (b[1 - axis] - a[1 - axis]))
    return best(found) if found else None


def distances(frontier: list[tuple[float, float]], ml: tuple[float, float]) -> dict[str, float | None]:
    """ΔNIQE and ΔPSNR of one `ml` point from one seed's frontier (points in order of weight)."""
    niqe_there = crossing(frontier, ml[0], axis=0, best=min)
    psnr_there = crossing(frontier, ml[1], axis=1, best=max)
    return {
        "delta_niqe": None if niqe_there is None else ml[1] - niqe_there,
        "delta_psnr": None if psnr_there is None else ml[0] - psnr_there,
    }


def read_arm(specs: list[str], arm: str) -> dict[float, dict]:
    """{weight: {seed: run}} of ``arm`` in each WEIGHT=FOLDER's study.json."""
    found = {}
    for spec in specs:
        text, _, folder = spec.partition("=")
        try:
            weight = float(text)
        except ValueError:
            raise UserError(f"--{arm}: {spec!r} is not WEIGHT=FOLDER") from None
        runs = runner.read_study(folder)["runs"]
        if arm not in runs:
            raise UserError(f"{folder}/study.json: no {arm} runs")
        found[weight] = runs[arm]
    return dict(sorted(found.items()))


def read_anchor(specs: list[str]) -> dict:
    """{seed: run} of the `adv0` runs in the first of the WEIGHT=FOLDERs that has them ({} if none)."""
    for spec in specs:
        runs = runner.read_study(spec.partition("=")[2])["runs"]
        if "adv0" in runs:
            return runs["adv0"]
    return {}


def analyse(independent: dict, ml: dict, sets: list[str], correct: bool = True) -> dict:
    """Per seed and `ml` weight, the two distances; the family of tests over them (Holm-corrected
    where ``correct``)."""
    points = {
        "independent": {w: {s: point(r, sets) for s, r in runs.items()} for w, runs in independent.items()},
        "ml": {w: {s: point(r, sets) for s, r in runs.items()} for w, runs in ml.items()},
    }
    seeds = sorted(set.intersection(*(set(r) for r in independent.values())), key=int)
    per_seed, rows = {}, []
    for weight, ml_points in points["ml"].items():
        per_seed[weight] = {
            s: distances([points["independent"][w][s] for w in independent], ml_points[s])
            for s in seeds
            if s in ml_points
        }
        for name in ("delta_niqe", "delta_psnr"):
            values = [d[name] for d in per_seed[weight].values() if d[name] is not None]
            row = {"ml_weight": weight, "distance": name, "left_out": len(per_seed[weight]) - len(values)}
            if len(values) >= 2:
                row.update(stats.paired_comparison(values, [0.0] * len(values)))
            rows.append(row)
    if correct:
        runner.add_holm([r for r in rows if "p" in r])
    return {"points": points, "seeds": seeds, "per_seed": per_seed, "rows": rows}


def matched(independent: dict, ml: dict, sets: list[str]) -> list[dict]:
    """`ml` at w minus `independent` at 0.75 w and at w (where run), per metric, paired by seed."""
    rows = []
    for weight, ml_runs in ml.items():
        for share in (0.75, 1.0):
            other = next((w for w in independent if math.isclose(w, share * weight)), None)
            if other is None:
                continue
            seeds = sorted(set(ml_runs) & set(independent[other]), key=int)
            for metric in SECONDARY_METRICS:
                x = [pooled(ml_runs[s], sets, metric) for s in seeds]
                y = [pooled(independent[other][s], sets, metric) for s in seeds]
                row = {"ml_weight": weight, "independent_weight": other, "metric": metric}
                rows.append({**row, **stats.paired_comparison(x, y)} if len(seeds) >= 2 else row)
    return rows


def arm_means(independent: dict, ml: dict, anchor: dict, sets: list[str]) -> list[dict]:
    """Each arm and weight's mean and SD over seeds of every secondary metric."""
    arms = [("adv0", None, anchor)] if anchor else []
    arms += [("independent", w, r) for w, r in independent.items()] + [("ml", w, r) for w, r in ml.items()]
    rows = []
    for arm, weight, runs in arms:
        row = {"arm": arm, "weight": weight, "n": len(runs)}
        for metric in SECONDARY_METRICS:
            values = [pooled(r, sets, metric) for r in runs.values()]
            row[metric] = statistics.fmean(values)
            row[metric + "_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def markdown(result: dict, sets: list[str]) -> str:
    lines = [
        f"# Study C: `ml` against `independent`'s frontier ({' + '.join(sets)}, final scores)",
        "",
        f"Seeds: {', '.join(result['seeds'])}. Distances per seed, then a one-sample t-test against 0; "
        "Holm over the rows. `ml` beyond the frontier: ΔNIQE < 0 or ΔPSNR > 0.",
        "",
        *distance_table(result["rows"], holm=True),
    ]
    secondary = result.get("secondary")
    if secondary:
        lines += ["", "## Secondary looks (p before any correction)"]
        for part, title, table in (
            ("distances", f"The same distances on {' + '.join(secondary['sets'])}:", distances_part),
            (
                "matched",
                f"`ml` at w minus `independent` at 0.75 w (matched pull) and at w, paired by seed "
                f"({' + '.join(sets)}):",
                matched_part,
            ),
            (
                "arms",
                f"Each arm's mean ± SD over seeds ({' + '.join(sets)}; d_auc: the discriminators' ROC-AUC, "
                "real against generated, d_inference_auc: the same in inference mode):",
                arms_part,
            ),
        ):
            body = table(secondary[part]) if part in secondary else [f"Not made: {secondary[part + '_skipped']}."]
            lines += ["", title, "", *body]
    return "\n".join(lines) + "\n"


def distances_part(rows: list[dict]) -> list[str]:
    return distance_table(rows, holm=False)


def matched_part(rows: list[dict]) -> list[str]:
    lines = [
        "| ml weight | independent weight | metric | mean [95 % CI] | d_z | p | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = runner.difference_cells(r).removesuffix(" | ") + f" | {r['n']}" if "p" in r else "too few seeds | | |"
        lines.append(f"| {r['ml_weight']:g} | {r['independent_weight']:g} | {r['metric']} | {cells} |")
    return lines


def arms_part(rows: list[dict]) -> list[str]:
    lines = [
        f"| arm | weight | seeds | {' | '.join(SECONDARY_METRICS)} |",
        "|---|---|---|" + "---|" * len(SECONDARY_METRICS),
    ]
    for r in rows:
        weight = "0" if r["weight"] is None else f"{r['weight']:g}"
        cells = " | ".join(f"{r[m]:.3f} ± {r[m + '_sd']:.3f}" for m in SECONDARY_METRICS)
        lines.append(f"| {r['arm']} | {weight} | {r['n']} | {cells} |")
    return lines


def distance_table(rows: list[dict], holm: bool) -> list[str]:
    """The distance rows as a Markdown table, with p_Holm where ``holm``."""
    header = "| ml weight | distance | mean [95 % CI] | d_z | p |" + (" p_Holm |" if holm else "") + " seeds left out |"
    lines = [header, "|---" * header.count(" | ") + "|---|"]
    for r in rows:
        if "p" not in r:
            cells = "too few seeds | | |" if holm else "too few seeds | |"
        else:
            cells = runner.difference_cells(r)
            cells = cells if holm else cells.removesuffix(" | ")
        lines.append(f"| {r['ml_weight']:g} | {r['distance']} | {cells} | {r['left_out']} |")
    return lines


def plot(result: dict, path: str) -> None:
    """Left, every run's point (`adv0`'s too where present) with the frontier of the seed means
    and each arm's mean; right, one panel per seed: its frontier and its `ml` points."""
    independent, ml, anchor = result["points"]["independent"], result["points"]["ml"], result.get("anchor")
    seeds = result["seeds"]
    figure = plt.figure(figsize=(13, 5.2))
    columns = (len(seeds) + 1) // 2
    grid = figure.add_gridspec(2, 2 + columns, width_ratios=[1.6, 1.6] + [1] * columns)
    axis = figure.add_subplot(grid[:, :2])
    for runs in independent.values():
        axis.scatter(*zip(*[p[::-1] for p in runs.values()]), color="C0", s=10, alpha=0.35)
    means = [tuple(statistics.fmean(c) for c in zip(*runs.values())) for runs in independent.values()]
    axis.plot(*zip(*[m[::-1] for m in means]), color="C0", lw=2, marker="o", label="independent (mean by weight)")
    for weight, m in zip(independent, means):
        axis.annotate(f"{weight:g}", m[::-1], fontsize=7, xytext=(4, -9), textcoords="offset points", color="C0")
    if anchor:
        axis.scatter(*zip(*[p[::-1] for p in anchor.values()]), color="0.5", s=10, alpha=0.6)
        mean = tuple(statistics.fmean(c) for c in zip(*anchor.values()))
        axis.scatter(*mean[::-1], color="0.5", marker="s", s=80, edgecolor="k", label="adv0 (pixel loss only)")
    for i, (weight, runs) in enumerate(ml.items()):
        axis.scatter(*zip(*[p[::-1] for p in runs.values()]), color=f"C{i + 1}", s=14, alpha=0.6)
        mean = tuple(statistics.fmean(c) for c in zip(*runs.values()))
        axis.scatter(*mean[::-1], color=f"C{i + 1}", marker="X", s=120, edgecolor="k", label=f"ml ({weight:g}), mean")
    axis.set(xlabel="NIQE (lower is better)", ylabel="PSNR (dB)", title="final scores: small points runs, large means")
    axis.legend(fontsize=8)
    for n, seed in enumerate(seeds):
        small = figure.add_subplot(grid[n % 2, 2 + n // 2])
        line = [independent[w][seed][::-1] for w in independent]
        small.plot(*zip(*line), color="C0", lw=1, marker="o", ms=3)
        for weight, at in ((min(independent), line[0]), (max(independent), line[-1])):  # the polyline's ends
            small.annotate(f"{weight:g}", at, fontsize=5, xytext=(2, 2), textcoords="offset points", color="C0")
        for i, runs in enumerate(ml.values()):
            if seed in runs:
                small.scatter(*runs[seed][::-1], color=f"C{i + 1}", marker="X", s=40, edgecolor="k", lw=0.5)
        small.set_title(f"seed {seed}", fontsize=8)
        small.tick_params(labelsize=6)
    figure.tight_layout()
    files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    plt.close(figure)


def secondary_looks(independent: dict, ml: dict, anchor: dict) -> dict:
    """Each secondary part, or why it was not made (runs without the scores it needs): the
    primary family is reported either way."""
    looks = {"sets": FLAGS.secondary_sets}
    for part, make in (
        ("distances", lambda: analyse(independent, ml, FLAGS.secondary_sets, correct=False)["rows"]),
        ("matched", lambda: matched(independent, ml, FLAGS.sets)),
        ("arms", lambda: arm_means(independent, ml, anchor, FLAGS.sets)),
    ):
        try:
            looks[part] = make()
        except UserError as err:
            looks[part + "_skipped"] = str(err)
    return looks


def main(argv) -> int:
    del argv
    if not FLAGS.independent or not FLAGS.ml or not FLAGS.out:
        return cli.user_error(UserError("give --independent, --ml and --out"))
    try:
        independent, ml = read_arm(FLAGS.independent, "independent"), read_arm(FLAGS.ml, "ml")
        anchor = read_anchor(FLAGS.independent)
        result = analyse(independent, ml, FLAGS.sets)
        result["anchor"] = {s: point(r, FLAGS.sets) for s, r in anchor.items()}
        result["secondary"] = secondary_looks(independent, ml, anchor)
    except UserError as err:
        return cli.user_error(err)
    text = markdown(result, FLAGS.sets)
    serialisable = {**result, "points": {a: {str(w): p for w, p in v.items()} for a, v in result["points"].items()}}
    serialisable["per_seed"] = {str(w): v for w, v in result["per_seed"].items()}
    files.write_json(os.path.join(FLAGS.out, "frontier.json"), serialisable)
    files.write_text(os.path.join(FLAGS.out, "frontier.md"), text)
    plot(result, os.path.join(FLAGS.out, "plane.png"))
    print(text)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
