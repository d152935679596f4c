"""Study B of issue #13: a GAN stage where the discriminator matters.

Every run continues the start generator (--start, every pair) for --gan_steps GAN steps with the
networks of --flagfile_base. Arms, paired by seed (same initial discriminators and data order):
  adv0          independent at adversarial weight 0: pixel-only continuation (its discriminators
                still train and are scored); what every GAN arm is compared with
  independent   K separate SRGANs at --adversarial_weight
  control       mode ml with λ = 0: ml's peer passes without the KL (trains exactly as independent)
  ml, ml_star   mutual learning / the ensemble target at λ = --distill_weight (if listed)
  labels        the true labels as targets at λ = --distill_weight: ml's sources, no peer knowledge
Endpoint, fixed before the runs in settings.json: the mean over a run's pairs of its last
--endpoint_validations validations (TensorBoard, first --val set) of PSNR, SSIM, NIQE, PI (with a
Ma model), D AUC and D ECE; comparisons paired over seeds, Holm over the whole family, with the
seeds for 80 % power (and, with --replication_from, the same comparisons on the later seeds alone,
one-sided in the direction the earlier ones showed); also the final scores on every --val set,
the start generator, bicubic and the paper's Tables 1/2. Writes OUT/study.json, study.md,
curves.png, plane.png. Resumable: finished runs are skipped, interrupted ones resume; runs of
other settings are refused. Runs start in the repository root: paths inside --val and --extra
are relative to it.

  python studies/generator_study.py --start=runs/pre_x4/generator_0.keras [--report_only]
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import statistics

import matplotlib
from absl import app, flags

import runner
import stats
from keras_mdsrgan import cli, files, names
from keras_mdsrgan.compare import cell
from keras_mdsrgan.errors import UserError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = runner.ROOT
ARMS = {
    "adv0": ["--mode=independent", "--adversarial_weight=0"],
    "independent": ["--mode=independent"],
    "control": ["--mode=ml", "--distill_weight=0"],
    "ml": ["--mode=ml"],
    "ml_star": ["--mode=ml_star"],
    "labels": ["--mode=labels"],
}
METRICS = ("psnr", "ssim", "niqe", "pi", "d_auc", "d_ece")
FINAL_METRICS = ("psnr", "niqe")  # of --final_family's sets
SETTINGS = (
    "gan_steps",
    "val_every",
    "endpoint_validations",
    "adversarial_weight",
    "distill_weight",
    "scale",
    "val_max_images",
    "extra",
)

flags.DEFINE_string("start", None, "The generator .keras every pair of every run starts from.")
flags.DEFINE_string("flagfile_base", os.path.join(ROOT, "flags", "repro_x4.cfg"), "Train flagfile of every run.")
flags.DEFINE_list("arms", ["adv0", "independent", "control", "ml"], f"Arms, of {', '.join(ARMS)}.")
flags.DEFINE_integer("seeds", 5, "Paired seeds (0 .. seeds-1); one for a pilot (no comparisons).", lower_bound=1)
flags.DEFINE_integer("gan_steps", 1000, "GAN steps per run.", lower_bound=1)
flags.DEFINE_integer("val_every", 50, "Steps between validations (the curves).", lower_bound=1)
flags.DEFINE_integer("endpoint_validations", 3, "The endpoint: mean of this many last validations.", lower_bound=1)
flags.DEFINE_float("adversarial_weight", 1e-3, "Adversarial weight of every arm but adv0.", lower_bound=0)
flags.DEFINE_float("distill_weight", 1.0, "λ of ml and ml_star.", lower_bound=0)
flags.DEFINE_integer("scale", 4, "Upscaling factor (of --start and the default --val sets).", lower_bound=2)
flags.DEFINE_string(
    "shared",
    os.path.join(ROOT, "..", "shared", "datasets"),
    "The shared datasets folder "
    "(a Ma model for PI is looked for in its ../metrics, the paper's tables in its ../paper).",
)
flags.DEFINE_list(
    "val",
    None,
    "Validation sets NAME=SPEC (default: Set5 and Set14 at --scale in --shared); "
    "the first is validated every --val_every steps, all at the end.",
)
flags.DEFINE_integer(
    "val_max_images", 100, "Images per validation set (train's default, 5, would cut Set14).", lower_bound=1
)
flags.DEFINE_multi_string(
    "extra", [], "A train flag appended to every run; repeat for more (--extra=--gen_filters=4 --extra=--gen_blocks=1)."
)
flags.DEFINE_string("out", os.path.join(ROOT, "runs", "generator_study"), "Output folder.")
flags.DEFINE_integer(
    "jobs",
    1,
    "Runs made side by side, the CPU cores shared out among them (two at a time "
    "on a 2-core Intel Xeon: 1.06-1.19x the steps per second of one at a time, "
    "benchmarks/side_by_side.py).",
    lower_bound=1,
)
flags.DEFINE_integer(
    "replication_from",
    None,
    "Seeds from this one on replicate a first look at the earlier "
    "ones: each comparison is also tested on them alone, one-sided in the first look's direction.",
    lower_bound=1,
)
flags.DEFINE_list(
    "final_family",
    [],
    "Validation sets whose final PSNR and NIQE the same pairs of arms are also compared on, "
    "Holm over those rows as one family of their own (Study C's x2 table, docs/study/c/plan.md).",
)
flags.DEFINE_bool("report_only", False, "Only rewrite the report from the finished runs.")
flags.DEFINE_bool(
    "from_study_json",
    False,
    "Rewrite the report from OUT/study.json (the committed record: runs, settings, machine) instead "
    "of the run folders, e.g. after a change of analysis; --start and the settings flags are taken from it.",
)
flags.register_validator(
    "start", lambda v: v is not None or FLAGS.from_study_json, "--start is required (unless --from_study_json)"
)
flags.register_validator("arms", lambda arms: set(arms) <= set(ARMS), f"--arms must be among {', '.join(ARMS)}")
FLAGS = flags.FLAGS


def val_sets() -> dict[str, str]:
    """Name -> spec of every validation set (the first is the one the curves are on)."""
    base = os.path.join(FLAGS.shared, "benchmark")
    specs = FLAGS.val or [f"{n}={base}/{n}/x{FLAGS.scale}/HR:{base}/{n}/x{FLAGS.scale}/LR" for n in ("Set5", "Set14")]
    return names.dataset_names(specs)


def check_final_family() -> None:
    """--final_family names validation sets (a typo would drop the family without a word)."""
    if unknown := [name for name in FLAGS.final_family if name not in val_sets()]:
        raise UserError(f"--final_family: {', '.join(unknown)} not among the validation sets ({', '.join(val_sets())})")


def named_val_sets() -> str:
    return ",".join(f"{name}={spec}" for name, spec in val_sets().items())


def ma_model_flags() -> list[str]:
    """``--ma_model`` when ../metrics beside --shared has the Ma et al. model (PI), else nothing."""
    return runner.ma_model_flags(os.path.join(os.path.dirname(FLAGS.shared), "metrics"))


def digest(path: str) -> str:
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def settings() -> dict:
    """What a finished run depends on (the start generator and flagfile by content), and the
    endpoint, so that it cannot be changed after seeing the results."""
    return {
        "start": digest(FLAGS.start),
        "flagfile_base": digest(FLAGS.flagfile_base),
        "val": val_sets(),
        "ma_model": [os.path.basename(f) for f in ma_model_flags()],
        **{k: FLAGS[k].value for k in SETTINGS},
    }


def check_settings(out: str) -> None:
    """Refuse an endpoint the runs cannot give, and runs of other settings in OUT (stored at first)."""
    if -(-FLAGS.gan_steps // FLAGS.val_every) < FLAGS.endpoint_validations:  # ceil(steps / every) validations
        raise UserError(
            f"--gan_steps={FLAGS.gan_steps} gives fewer than --endpoint_validations="
            f"{FLAGS.endpoint_validations} validations every --val_every={FLAGS.val_every} steps"
        )
    runner.check_settings(out, settings())


def read_json(path: str):
    """The JSON at ``path``, or None when there is none."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def evaluate_start() -> None:
    """The start generator and bicubic on every --val set, once."""
    out = os.path.join(FLAGS.out, "start_eval")
    if not os.path.exists(os.path.join(out, "results.json")):
        runner.run_logged(
            [
                "-m",
                "keras_mdsrgan.evaluate",
                f"--scale={FLAGS.scale}",
                f"--datasets={named_val_sets()}",
                "--bicubic",
                f"--models={FLAGS.start}",
                "--model_names=start",
                f"--out={out}",
                f"--max_images={FLAGS.val_max_images}",
                "--verbosity=-1",
                *ma_model_flags(),
            ],
            out + ".log",
            os.path.join(out, "eval_time.json"),
        )


def run_dir(arm: str, seed: int) -> str:
    return os.path.join(FLAGS.out, "runs", f"{arm}_seed{seed}")


def train(arm: str, seed: int, threads: int | None = None) -> None:
    """One GAN stage from the start generator; skipped when finished, resumed when interrupted
    (a run that failed after writing results.json counts as unfinished)."""
    folder = run_dir(arm, seed)
    if not os.path.exists(os.path.join(folder, "train_time.json")):  # written once the run succeeded
        runner.run_logged(
            [
                "-m",
                "keras_mdsrgan.train",
                f"--flagfile={FLAGS.flagfile_base}",
                f"--scale={FLAGS.scale}",
                f"--val={named_val_sets()}",
                f"--val_max_images={FLAGS.val_max_images}",
                "--pretrain_steps=0",
                f"--gan_steps={FLAGS.gan_steps}",
                f"--val_every={FLAGS.val_every}",
                f"--init_generator={FLAGS.start}",
                f"--seed={seed}",
                f"--data_seed={seed}",
                f"--run_dir={folder}",
                "--verbosity=-1",
                f"--adversarial_weight={FLAGS.adversarial_weight}",
                f"--distill_weight={FLAGS.distill_weight}",
                *ARMS[arm],
                *ma_model_flags(),
                *FLAGS.extra,
            ],
            os.path.join(folder, "train.log"),
            os.path.join(folder, "train_time.json"),
            threads,
        )


def train_all() -> None:
    """Every run, seed by seed (an interrupted study still has paired arms), --jobs at a time; a
    failed or interrupted run stops the study (runner.run_all)."""
    threads = runner.threads_per_job(FLAGS.jobs)
    runs = [functools.partial(train, arm, seed, threads) for seed in range(FLAGS.seeds) for arm in FLAGS.arms]
    runner.run_all(runs, FLAGS.jobs, FLAGS.out)


def read_curves(folder: str) -> dict[str, dict[int, float]]:
    """Metric -> {step: mean over the pairs} of a run's validations in TensorBoard. Events count in
    the order written, so a step validated again after a resume keeps its last value; a file cut
    short by a kill is read up to the cut."""
    import tensorflow as tf  # here, so that a refused command answers without TensorFlow's start-up

    events = []
    for path in glob.glob(os.path.join(folder, "tensorboard", "events.*")):
        try:
            for record in tf.data.TFRecordDataset(path):
                events.append(tf.compat.v1.Event.FromString(record.numpy()))
        except tf.errors.DataLossError:
            pass  # cut short by a kill: keep what was read
    per_pair = {}  # metric -> pair -> step -> value
    for event in sorted(events, key=lambda e: e.wall_time):
        for value in event.summary.value:
            pair, _, metric = value.tag.removeprefix("val/").partition("_")
            if value.tag.startswith("val/") and metric in METRICS:  # TF2 summaries: a tensor, TF1: simple_value
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                per_pair.setdefault(metric, {}).setdefault(pair, {})[event.step] = number
    return {
        metric: {
            step: statistics.fmean(p[step] for p in pairs.values())
            for step in sorted(set.intersection(*map(set, pairs.values())))
        }
        for metric, pairs in per_pair.items()
    }


def pair_means(per_pair: dict, keys, prefix: str = "") -> dict[str, float]:
    """The mean over the pairs of each key that every pair has a value for (NIQE, PI can be null)."""
    return {
        prefix + k: statistics.fmean(s[k] for s in per_pair.values())
        for k in keys
        if per_pair and all(s.get(k) is not None for s in per_pair.values())
    }


def load_run(arm: str, seed: int) -> dict | None:
    """Curves, endpoint, final scores per set (with the D probe's), seconds and command of a finished run."""
    folder = run_dir(arm, seed)
    results = read_json(os.path.join(folder, "results.json"))
    if results is None:
        return None
    curves = read_curves(folder)
    endpoint = {m: statistics.fmean(list(c.values())[-FLAGS.endpoint_validations :]) for m, c in curves.items()}
    probes = results.get("discriminators", {})
    inference = results.get("discriminators_inference", {})  # runs since the probe's inference mode
    final = {
        name: {
            **pair_means({p: s for p, s in models.items() if p != "bicubic"}, ("psnr", "ssim", "niqe", "pi")),
            **pair_means({p: s["all"] for p, s in probes.get(name, {}).items()}, ("auc", "ece", "nll"), "d_"),
            **pair_means(
                {p: s["all"] for p, s in inference.get(name, {}).items()}, ("auc", "ece", "nll"), "d_inference_"
            ),
            "n_images": next(iter(models.values()))["n_images"],  # to pool the sets (studies/frontier.py)
        }
        for name, models in results["results"].items()
    }
    timing = read_json(os.path.join(folder, "train_time.json")) or {}
    timing["seconds"] = runner.run_seconds(folder, timing.get("seconds"))
    return {"curves": curves, "endpoint": endpoint, "final": final, **timing, "machines": run_machines(folder)}


def run_machines(folder: str) -> list[str]:
    """The machines a run trained on, as its validation records name them (a resumed run may have
    moved); none for a run without them."""
    path = os.path.join(folder, "validation.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return sorted({json.loads(line).get("machine") for line in f if line.strip()} - {None})


def comparisons(runs: dict) -> list[tuple[str, str]]:
    """(a, b) for every a − b compared: each arm against adv0, every λ > 0 arm (and control)
    against independent, the λ = 0 arm (control trains exactly as it), and ml against labels."""
    pairs = [(arm, "adv0") for arm in runs if arm != "adv0"]
    pairs += [(arm, "independent") for arm in ("control", "ml", "ml_star", "labels")] + [("ml", "labels")]
    return [(a, b) for a, b in pairs if a in runs and b in runs]


def endpoint(run: dict) -> dict:
    """A run's endpoint scores (the mean of its last validations)."""
    return run["endpoint"]


def endpoints(runs: dict, a: str, b: str, metric: str, seeds, score=endpoint) -> tuple[list, list] | None:
    """One endpoint metric (or of another ``score`` of a run) of arms a and b over the ``seeds``
    both finished; None where fewer than 2 or undefined."""
    seeds = sorted(set(runs[a]) & set(runs[b]) & set(seeds), key=int)
    x, y = ([score(runs[arm][s]).get(metric) for s in seeds] for arm in (a, b))
    return (x, y) if len(seeds) >= 2 and None not in x + y else None


def with_holm(rows: list[dict]) -> list[dict]:
    """The rows, each given its seeds for 80 % power and its Holm-adjusted p over the rows."""
    runner.add_holm(rows)
    for row in rows:
        row["seeds_for_80_power"] = stats.seeds_for_power(row["cohens_dz"])
    return rows


def compare(runs: dict, metrics=METRICS, score=endpoint) -> tuple[list[dict], list[dict]]:
    """Every comparison × metric of a run's ``score`` (its endpoint) over the seeds both arms
    finished, Holm over the family of the rows that can differ; and the rows left out, with the reason."""
    every, seen, rows, left_out = [str(s) for s in range(FLAGS.seeds)], {}, [], []
    for a, b in comparisons(runs):
        for m in metrics:
            if pair := endpoints(runs, a, b, m, every, score):
                row = {"comparison": f"{a} - {b}", "metric": m}
                if reason := runner.cannot_differ(row["comparison"], m, *pair, seen):
                    left_out.append({**row, "reason": reason})
                else:
                    rows.append({**row, **stats.paired_comparison(*pair)})
    return with_holm(rows), left_out


def compare_final(runs: dict) -> tuple[list[dict], list[dict]]:
    """compare() on the final PSNR and NIQE of --final_family's sets ("Set5 psnr", ...): a family of its own."""
    metrics = [f"{name} {m}" for name in FLAGS.final_family for m in FINAL_METRICS]

    def final(run: dict) -> dict:
        return {f"{name} {m}": run["final"].get(name, {}).get(m) for name in FLAGS.final_family for m in FINAL_METRICS}

    return compare(runs, metrics, final)


def replicate(runs: dict) -> list[dict]:
    """Each comparison on the seeds from --replication_from on, one-sided in the direction of the
    earlier seeds' (a replication's test; Holm over its own family)."""
    if FLAGS.replication_from is None:
        return []
    first = [str(s) for s in range(FLAGS.replication_from)]
    later = [str(s) for s in range(FLAGS.replication_from, FLAGS.seeds)]
    rows, seen = [], {}
    for a, b in comparisons(runs):
        for m in METRICS:
            if (look := endpoints(runs, a, b, m, first)) and (again := endpoints(runs, a, b, m, later)):
                if runner.cannot_differ(f"{a} - {b}", m, *again, seen):
                    continue
                if result := stats.replication(*look, *again):
                    rows.append({"comparison": f"{a} - {b}", "metric": m, **result})
    return with_holm(rows)


def per_metric(scores) -> dict[str, list[float]]:
    """Metric -> the values that the given score dicts have for it."""
    scores = list(scores)
    return {m: [s[m] for s in scores if s.get(m) is not None] for m in METRICS}


def table(header: str, rows: dict[str, dict[str, list]]) -> list[str]:
    """Markdown: one row per label, mean ± sd (over seeds) of every metric."""
    return [
        f"| {header} | " + " | ".join(METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
        *(f"| {label} | " + " | ".join(cell(v[m], 4) for m in METRICS) + " |" for label, v in rows.items()),
    ]


def paper_table(runs: dict, sets: list[str]) -> list[str]:
    """Our final PSNR / PI per set beside the paper's Tables 1 (x2) / 2 (x4), where it has the set."""
    path = os.path.join(os.path.dirname(FLAGS.shared), "paper", "tables.json")
    paper = (read_json(path) or {}).get(f"x{FLAGS.scale}")
    if paper is None:
        return [f"No paper values: {path} is absent or has no x{FLAGS.scale} table."]
    lines = ["| set | arm | PSNR ours (final) | PSNR paper | PI ours | PI paper |", "|---|---|---|---|---|---|"]
    for name in (s for s in sets if s in paper):
        for arm in (a for a in ("independent", "ml", "ml_star") if a in runs):
            ours = per_metric(r["final"].get(name, {}) for r in runs[arm].values())
            lines.append(
                f"| {name} | {arm} | {cell(ours['psnr'])} | {paper[name]['psnr'][arm]:.3f} | "
                f"{cell(ours['pi'])} | {paper[name]['pi'][arm]:.3f} |"
            )
    return lines


def comparison_table(rows: list[dict]) -> list[str]:
    """Markdown: one row per comparison × metric."""
    return [
        "| comparison | metric | mean diff [95 % CI] | d_z | p | p (Holm) | seeds for 80 % power |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['comparison']} | {r['metric']} | {r['mean_diff']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
            f" | {r['cohens_dz']:+.2f} | {r['p']:.3g} | {r['p_holm']:.3g} | {r['seeds_for_80_power'] or 'never'} |"
            for r in rows
        ),
    ]


def markdown(
    runs: dict,
    start: dict,
    rows: list[dict],
    left_out: list[dict],
    replication: list[dict],
    final_rows: list[dict],
    final_left_out: list[dict],
) -> str:
    sets = list(val_sets())
    endpoint = {
        f"{arm} ({len(seeds)} seeds)": per_metric(r["endpoint"] for r in seeds.values()) for arm, seeds in runs.items()
    }
    final = {
        f"{name} / {arm}": per_metric(r["final"].get(name, {}) for r in seeds.values())
        for name in sets
        for arm, seeds in runs.items()
    }
    final.update({f"{name} / {model}": per_metric([start[name][model]]) for name in start for model in start[name]})
    gaps = [f"{n} {start[n]['start']['psnr'] - start[n]['bicubic']['psnr']:+.3f} dB" for n in start]
    lines = [
        f"Endpoint: mean of the last {FLAGS.endpoint_validations} validations (one every {FLAGS.val_every} of "
        f"{FLAGS.gan_steps} GAN steps) on {sets[0]}, mean over the pairs; mean ± sd over seeds.",
        "",
        *table("arm", endpoint),
        "",
        "Final scores (mean over the pairs) on every set; the start generator "
        f"and bicubic by evaluate. Start − bicubic PSNR: {', '.join(gaps) or 'not evaluated'}.",
        "",
        *table("set / model", final),
        "",
        "Paired comparisons of the endpoint, Holm over all rows. Seeds for "
        "80 % power: two-sided paired t-test at α = 0.05 (noncentral t) at the observed d_z, which few seeds "
        "estimate loosely.",
        "",
        *comparison_table(rows),
    ]
    if left_out:
        lines += ["", *runner.left_out_lines(left_out)]
    if replication:
        lines += [
            "",
            f"Replication: the same comparisons on seeds {FLAGS.replication_from}–{FLAGS.seeds - 1} alone, "
            f"p one-sided in the direction of seeds 0–{FLAGS.replication_from - 1} (Holm over these rows).",
            "",
            *comparison_table(replication),
        ]
    if final_rows or final_left_out:
        lines += [
            "",
            f"Paired comparisons of the final scores on {', '.join(FLAGS.final_family)} "
            f"({', '.join(FINAL_METRICS)}), Holm over these rows: a family of its own.",
            "",
            *comparison_table(final_rows),
            *(["", *runner.left_out_lines(final_left_out)] if final_left_out else []),
        ]
    return "\n".join(lines + ["", "The paper (Lee & Park 2022) beside ours:", "", *paper_table(runs, sets)]) + "\n"


def save(figure, path: str) -> None:
    figure.tight_layout()
    files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    plt.close(figure)


def plot_curves(runs: dict, path: str) -> None:
    """PSNR, D AUC and D ECE over the steps, a colour per arm: thin lines per seed, thick means."""
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for i, (arm, seeds) in enumerate(runs.items()):
        for axis, metric in zip(axes, ("psnr", "d_auc", "d_ece")):
            curves = [r["curves"][metric] for r in seeds.values() if metric in r["curves"]]
            for c in curves:
                axis.plot(list(c), list(c.values()), color=f"C{i}", lw=0.6, alpha=0.5)
            steps = sorted(set.intersection(*map(set, curves))) if curves else []
            axis.plot(steps, [statistics.fmean(c[s] for c in curves) for s in steps], color=f"C{i}", lw=2, label=arm)
            axis.set(title=metric.upper().replace("_", " "), xlabel="GAN step")
    axes[0].legend()
    save(figure, path)


def plot_plane(runs: dict, start: dict, path: str) -> None:
    """The endpoint PSNR–NIQE plane: a point per arm and seed, crosses at the arm means."""
    first = list(val_sets())[0]
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    for i, (arm, seeds) in enumerate(runs.items()):
        points = [
            (r["endpoint"]["niqe"], r["endpoint"]["psnr"])
            for r in seeds.values()
            if {"niqe", "psnr"} <= set(r["endpoint"])
        ]
        if points:
            axis.scatter(*zip(*points), color=f"C{i}", s=18, alpha=0.6)
            axis.scatter(
                *map(statistics.fmean, zip(*points)), color=f"C{i}", marker="X", s=120, edgecolor="k", label=arm
            )
    for model, marker in (("start", "*"), ("bicubic", "s")):
        scores = start.get(first, {}).get(model, {})
        if scores.get("niqe") is not None:
            axis.scatter(scores["niqe"], scores["psnr"], color="k", marker=marker, s=80, label=model)
    weight = f"adversarial weight {FLAGS.adversarial_weight:g}" + (" (adv0: 0)" if "adv0" in runs else "")
    axis.set(xlabel="NIQE (lower is better)", ylabel="PSNR (dB)", title=f"endpoint on {first}, {weight}")
    axis.legend(fontsize=8)
    save(figure, path)


def record_from_disk() -> dict:
    """What the report is made of, from the finished runs on disk."""
    runs = {arm: {str(s): r for s in range(FLAGS.seeds) if (r := load_run(arm, s))} for arm in FLAGS.arms}
    runs = {arm: seeds for arm, seeds in runs.items() if seeds}
    if not runs:
        raise UserError(f"{FLAGS.out}: no finished runs to report")
    evaluated = read_json(os.path.join(FLAGS.out, "start_eval", "results.json")) or {"results": {}}
    start = {
        name: {model: {m: s[m] for m in METRICS if m in s} for model, s in models.items()}
        for name, models in evaluated["results"].items()
    }
    seconds = {f"{arm}_seed{s}": r.get("seconds") for arm, seeds in runs.items() for s, r in seeds.items()}
    seconds["start_eval"] = (read_json(os.path.join(FLAGS.out, "start_eval", "eval_time.json")) or {}).get("seconds")
    from keras_mdsrgan.training.distributed import describe_machine

    machines = sorted({m for seeds in runs.values() for r in seeds.values() for m in r["machines"]})
    computer = " and ".join(machines) if machines else describe_machine()  # a study may span machines
    threads = {r.get("threads") for seeds in runs.values() for r in seeds.values()} - {None}
    computer += f" (runs side by side, {max(threads)} thread(s) each)" if threads else ""
    with open(FLAGS.flagfile_base) as f:
        flagfile = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return {
        "machine": computer,
        "settings": settings(),
        "flagfile_base": flagfile,
        "seconds": seconds,
        "start_eval": start,
        "runs": runs,
    }


def record_from_json() -> dict:
    """What the report is made of, from OUT/study.json; the settings flags set from its settings
    (curves' steps back to integers), the runs limited to --arms and --seeds."""
    saved = runner.read_study(FLAGS.out)
    for key in SETTINGS:
        FLAGS[key].value = saved["settings"][key]
    FLAGS.val = [f"{name}={spec}" for name, spec in saved["settings"]["val"].items()]
    check_final_family()
    seeds = {str(s) for s in range(FLAGS.seeds)}
    runs = {
        arm: {
            seed: {**run, "curves": {m: {int(k): v for k, v in c.items()} for m, c in run["curves"].items()}}
            for seed, run in saved["runs"][arm].items()
            if seed in seeds
        }
        for arm in FLAGS.arms
        if arm in saved["runs"]
    }
    kept = {f"{arm}_seed{s}" for arm, r in runs.items() for s in r} | {"start_eval"}
    return {
        **{k: saved[k] for k in ("machine", "settings", "flagfile_base", "start_eval")},
        "seconds": {k: v for k, v in saved["seconds"].items() if k in kept},
        "runs": {arm: r for arm, r in runs.items() if r},
    }


def report() -> None:
    """study.json, study.md, curves.png and plane.png from the finished runs on disk (or from
    study.json with --from_study_json)."""
    record = record_from_json() if FLAGS.from_study_json else record_from_disk()
    runs, start, seconds, computer = record["runs"], record["start_eval"], record["seconds"], record["machine"]
    total, (rows, left_out), replication = sum(filter(None, seconds.values())), compare(runs), replicate(runs)
    final_rows, final_left_out = compare_final(runs)
    files.write_json(
        os.path.join(FLAGS.out, "study.json"),
        {
            "machine": computer,
            "settings": record["settings"],
            "flagfile_base": record["flagfile_base"],
            "arms": list(runs),
            "seconds": seconds,
            "start_eval": start,
            "runs": runs,
            "comparisons": rows,
            "left_out": left_out + final_left_out,
            "replication": replication,
            **({"final_comparisons": final_rows} if FLAGS.final_family else {}),
        },
    )
    text = markdown(runs, start, rows, left_out, replication, final_rows, final_left_out)
    files.write_text(os.path.join(FLAGS.out, "study.md"), f"Machine: {computer}; {total:.0f} s of runs.\n\n{text}")
    plot_curves(runs, os.path.join(FLAGS.out, "curves.png"))
    plot_plane(runs, start, os.path.join(FLAGS.out, "plane.png"))
    print(f"{sum(map(len, runs.values()))} runs, {total:.0f} s of runs on {computer}\n{text}")


def main(argv) -> int:
    del argv
    for name in ("start", "flagfile_base", "shared", "out"):  # the runs start in the repository root
        if FLAGS[name].value is not None:
            FLAGS[name].value = os.path.abspath(FLAGS[name].value)
    try:
        if not FLAGS.from_study_json:
            check_settings(FLAGS.out)
            check_final_family()
        if not (FLAGS.report_only or FLAGS.from_study_json):
            evaluate_start()
            train_all()
        report()
    except UserError as err:
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)
