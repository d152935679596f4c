"""Study A of issue #13: does distillation make better discriminators against frozen generators?

No GAN dynamics: the generators are fixed (saved SRResNets, e.g. generator_0.keras of a
pre-training run; one file serves every pair). For each seed, K = 2 discriminators with the
same seeded initial weights are trained for --steps steps in each arm (--arms, default all):
  independent   no peer passes, no KL
  control       mode ml with λ = 0 (peer passes, no KL: the distillation-only control)
  ml            mutual learning, λ = --distill_weight
  ml_star       the ensemble target, λ = --distill_weight
  labels        the true labels as targets, λ = --distill_weight (ml's sources, no peer knowledge)
then scored on the held-out probe (probe.py: validation HR patches vs own / peer / bicubic SR
patches). Per run the two discriminators' scores are averaged; arms are compared over paired
seeds (mean difference, 95 % CI, Cohen's d_z, paired t-test, the seeds a paired t-test would
need for 80 % power at the observed d_z), Holm-corrected over the whole family of comparisons
× metrics. Writes OUT/study.json, OUT/study.md and OUT/study.png.
Resumable: every finished (arm, seed) run is kept in OUT/runs/ and skipped when the command
is run again with the same settings (other settings are refused, not mixed in).

  python studies/discriminator_study.py --generators=runs/pre/generator_0.keras \\
      --train=../shared/datasets/train/T91 --val=../shared/datasets/benchmark/Set5/x4/HR \\
      --scale=4 --seeds=8 --steps=300 --out=runs/study_a
"""

from __future__ import annotations

import functools
import json
import os
import time

import tensorflow as tf
from absl import app, flags

import runner
import stats
from keras_mdsrgan import cli, files
from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
from keras_mdsrgan.data import pipelines
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference
from keras_mdsrgan.quality import probe
from keras_mdsrgan.training import build
from keras_mdsrgan.training.distributed import describe_machine as machine

flags.DEFINE_list("generators", None, "Frozen generator .keras files, one per pair or one for all.")
flags.DEFINE_list("train", ["sample:train"], "Training sets (HR patches and their LR), as for train.")
flags.DEFINE_string("val", "sample:val", "Validation set the probe is cut from.")
flags.DEFINE_integer("scale", 4, "Upscaling factor of the generators.")
flags.DEFINE_integer("hr_patch", 64, "Discriminator input side.")
flags.DEFINE_integer("batch_size", 16, "Batch size.")
flags.DEFINE_integer("disc_filters", 32, "Discriminator channels of the first conv.")
flags.DEFINE_integer("disc_dense", 256, "Discriminator dense units.")
flags.DEFINE_float("disc_lr", 1e-4, "Adam learning rate of the discriminators.")
flags.DEFINE_float("distill_weight", 1.0, "λ of the ml and ml_star arms.")
flags.DEFINE_integer("steps", 300, "Discriminator steps per run.")
flags.DEFINE_integer("seeds", 8, "Paired seeds (0 .. seeds-1).", lower_bound=2)
flags.DEFINE_list("arms", ["independent", "control", "ml", "ml_star"], "Arms to run and compare.")
flags.DEFINE_string("out", "runs/discriminator_study", "Output folder.")
flags.DEFINE_bool(
    "from_study_json",
    False,
    "Rewrite the report from OUT/study.json (the committed record) instead of running or reading the runs.",
)
flags.register_validator(
    "generators",
    lambda v: v is not None or FLAGS.from_study_json,
    "--generators is required (unless --from_study_json)",
)
FLAGS = flags.FLAGS

ARMS = {
    "independent": ("independent", 0.0),
    "control": ("ml", 0.0),
    "ml": ("ml", None),
    "ml_star": ("ml_star", None),
    "labels": ("labels", None),
}
flags.register_validator(
    "arms", lambda arms: len(arms) >= 2 and set(arms) <= set(ARMS), f"--arms must be two or more of {', '.join(ARMS)}"
)
COMPARISONS = [
    ("control", "independent"),
    ("ml", "control"),
    ("ml_star", "control"),
    ("ml", "ml_star"),
    ("labels", "control"),
    ("ml", "labels"),
]
METRICS = ("auc", "acc", "nll", "ece", "brier")
PAIRS = 2


def discriminator_step(cohort, data):
    """Train only the cohort's discriminators, against its generators as they are (inference
    mode): this study's step, where the generators are frozen."""
    lr, hr = data
    fakes = [tf.cast(g(lr, training=False), tf.float32) for g in cohort.generators]
    with tf.GradientTape() as tape:
        d_terms = cohort.discriminator_terms(cohort.judge(hr, fakes))
        d_total = cohort._total(d_terms, "d_total", cohort.disc_optimizers)
    cohort._apply(tape, d_total, cohort.discriminators, cohort.disc_optimizers)


def run_arm(arm: str, seed: int, generators: list, store, sample: probe.Probe) -> dict:
    """Train the discriminators of one arm and seed; their probe scores, averaged over the pairs."""
    mode, weight = ARMS[arm]
    config = RunConfig(
        data=DataConfig(scale=FLAGS.scale, hr_patch=FLAGS.hr_patch, batch_size=FLAGS.batch_size),
        model=ModelConfig(
            num_pairs=PAIRS,
            gen_filters=1,
            gen_blocks=1,  # replaced by the frozen generators
            disc_filters=FLAGS.disc_filters,
            disc_dense=FLAGS.disc_dense,
        ),
        loss=LossConfig(
            mode=mode, perceptual_weight=0.0, distill_weight=FLAGS.distill_weight if weight is None else weight
        ),
        train=TrainConfig(seed=seed, disc_lr=FLAGS.disc_lr),
    )
    cohort = build.build_cohort(config)  # seeded: every arm starts from the same discriminators
    cohort.generators = generators
    batches = iter(pipelines.training_dataset(store, FLAGS.hr_patch // FLAGS.scale, FLAGS.batch_size, seed=seed))
    step = tf.function(lambda batch: discriminator_step(cohort, batch), autograph=False)
    for _ in range(FLAGS.steps):
        step(next(batches))
    scores = probe.discriminator_scores(generators, cohort.discriminators, sample, modes=("batch",))["batch"]
    return {
        kind: {m: sum(s[kind][m] for s in scores.values()) / len(scores) for m in METRICS}
        for kind in next(iter(scores.values()))
    }


SETTINGS = (
    "generators",
    "train",
    "val",
    "scale",
    "hr_patch",
    "batch_size",
    "disc_filters",
    "disc_dense",
    "disc_lr",
    "distill_weight",
    "steps",
)


def settings() -> dict:
    """The flags a finished run depends on (--seeds and --out only say how many and where)."""
    return {name: FLAGS[name].value for name in SETTINGS}


def load_or_run(arm: str, seed: int, run, folder: str) -> dict:
    """The record of (arm, seed), its scores and seconds: from OUT/runs/ when finished before, else
    ``run()``'s scores, saved there."""
    path = os.path.join(folder, f"{arm}_seed{seed}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    started = time.time()
    scores = run()
    record = {"arm": arm, "seed": seed, "seconds": time.time() - started, "scores": scores}
    files.write_json(path, record)
    print(f"{arm} seed {seed}: AUC {scores['all']['auc']:.4f} in {record['seconds']:.0f} s", flush=True)
    return record


def plot(runs: dict, path: str) -> None:
    """Each metric per arm, one line per seed (the pairing the tests use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.2))
    arms = list(runs)
    for axis, metric in zip(axes, METRICS):
        for seed in sorted(runs[arms[0]], key=int):
            axis.plot(range(len(arms)), [runs[a][seed]["all"][metric] for a in arms], color="0.6", lw=0.8)
        axis.plot(
            range(len(arms)),
            [sum(runs[a][s]["all"][metric] for s in runs[a]) / len(runs[a]) for a in arms],
            "ko-",
            lw=2,
            label="mean",
        )
        axis.set_xticks(range(len(arms)), arms, rotation=30)
        axis.set_title(metric.upper())
    axes[0].legend()
    figure.tight_layout()
    files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    plt.close(figure)


def compare(runs: dict) -> tuple[list[dict], list[dict]]:
    """Every comparison of the arms run × metric (on the whole probe), Holm-corrected over the
    rows that can differ; and the rows left out, with the reason."""
    rows, left_out, seen = [], [], {}
    for a, b in [(a, b) for a, b in COMPARISONS if a in runs and b in runs]:
        for metric in METRICS:
            seeds = sorted(set(runs[a]) & set(runs[b]))
            x, y = [runs[a][s]["all"][metric] for s in seeds], [runs[b][s]["all"][metric] for s in seeds]
            if reason := runner.cannot_differ(f"{a} - {b}", metric, x, y, seen):
                left_out.append({"comparison": f"{a} - {b}", "metric": metric, "reason": reason})
                continue
            result = stats.paired_comparison(x, y)
            rows.append(
                {
                    "comparison": f"{a} - {b}",
                    "metric": metric,
                    **result,
                    "seeds_for_80_power": stats.seeds_for_power(result["cohens_dz"]),
                }
            )
    runner.add_holm(rows)
    return rows, left_out


def markdown(runs: dict, rows: list[dict], left_out: list[dict]) -> str:
    lines = ["| arm | " + " | ".join(f"{m} (mean ± sd)" for m in METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for arm in runs:
        cells = []
        for metric in METRICS:
            values = [runs[arm][s]["all"][metric] for s in runs[arm]]
            mean = sum(values) / len(values)
            sd = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
            cells.append(f"{mean:.4f} ± {sd:.4f}")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| comparison | metric | mean diff [95 % CI] | d_z | p | p (Holm) | seeds for 80 % power |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['comparison']} | {r['metric']} | {r['mean_diff']:+.4f} [{r['ci_low']:+.4f}, "
            f"{r['ci_high']:+.4f}] | {r['cohens_dz']:+.2f} | {r['p']:.3g} | {r['p_holm']:.3g} | "
            f"{r['seeds_for_80_power'] or 'never'} |"
        )
    if left_out:
        lines += ["", *runner.left_out_lines(left_out)]
    return "\n".join(lines) + "\n"


@functools.cache
def inputs() -> tuple:
    """The frozen generators, the training store and the probe: made once, when a run needs them."""
    paths = FLAGS.generators * (PAIRS if len(FLAGS.generators) == 1 else 1)
    generators = [inference.load(p).model for p in paths]  # KerasUpscaler: the frozen networks
    store = pipelines.build_training_store(FLAGS.train, FLAGS.scale, FLAGS.hr_patch)
    sample = probe.make_probe(list(pipelines.evaluation_images(FLAGS.val, FLAGS.scale)), FLAGS.scale, FLAGS.hr_patch)
    return generators, store, sample


def record_from_runs() -> dict:
    """Every arm × seed, run now or read back from OUT/runs."""
    runner.check_settings(FLAGS.out, settings())
    arms = [arm for arm in ARMS if arm in FLAGS.arms]
    records = {}
    for seed in range(FLAGS.seeds):
        for arm in arms:
            records[arm, seed] = load_or_run(
                arm, seed, lambda arm=arm, seed=seed: run_arm(arm, seed, *inputs()), os.path.join(FLAGS.out, "runs")
            )
    return {
        "machine": machine(),
        "seconds": {f"{arm}_seed{seed}": records[arm, seed]["seconds"] for arm in arms for seed in range(FLAGS.seeds)},
        "settings": settings(),
        "seeds": FLAGS.seeds,
        "runs": {arm: {str(seed): records[arm, seed]["scores"] for seed in range(FLAGS.seeds)} for arm in arms},
    }


def record_from_json() -> dict:
    """The committed record OUT/study.json: its runs, seconds, settings and machine."""
    saved = runner.read_study(FLAGS.out)
    return {k: saved[k] for k in ("machine", "seconds", "settings", "seeds", "runs")}


def main(argv) -> int:
    del argv
    start = time.time()
    try:
        record = record_from_json() if FLAGS.from_study_json else record_from_runs()
    except UserError as err:
        return cli.user_error(err)
    runs, seconds = record["runs"], record["seconds"]
    rows, left_out = compare(runs)
    files.write_json(os.path.join(FLAGS.out, "study.json"), {**record, "comparisons": rows, "left_out": left_out})
    table = markdown(runs, rows, left_out)
    files.write_text(os.path.join(FLAGS.out, "study.md"), table)
    plot(runs, os.path.join(FLAGS.out, "study.png"))
    print(
        f"{record['seeds']} seeds x {len(runs)} arms: {sum(seconds.values()):.0f} s of runs "
        f"({time.time() - start:.0f} s this time) on {record['machine']}"
    )
    print(table)
    return 0


if __name__ == "__main__":
    app.run(main)
