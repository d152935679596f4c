"""Reproduction study: Independent vs ML vs ML* with several seeds, at CPU scale.

For each scale: one shared SRResNet pre-training, then every mode x seed as a GAN run started
from it (same seed = same discriminator initialisation and batches across modes, so the
comparison is paired), every pair evaluated on Set5 and Set14 with the evaluate command, and
docs/RESULTS.md, docs/repro/results.json and the plots written from what is on disk.
Resumable: finished steps (a run's generators, its evaluation) are skipped; an interrupted
training resumes from its checkpoint.

  python studies/reproduce.py                       # flags/repro_x{2,4}.cfg, seeds 0,1,2
  python studies/reproduce.py --report_only         # rewrite the docs from finished runs
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

import runner

ROOT = runner.ROOT
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("independent", "ml", "ml_star")
FLAGS = flags.FLAGS
flags.DEFINE_list("scales", ["4", "2"], "Scales to run, each with flags/repro_xS.cfg.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (weights and data order) per mode.")
flags.DEFINE_string("out", os.path.join(ROOT, "runs", "repro"), "Folder of the runs (not committed).")
flags.DEFINE_string("shared", os.path.join(ROOT, "..", "shared", "datasets"), "The shared datasets folder.")
flags.DEFINE_string("docs", os.path.join(ROOT, "docs"), "Where RESULTS.md and docs/repro/ are written.")
flags.DEFINE_bool("report_only", False, "Only rewrite the report from finished runs.")


def benchmark_sets(scale: int) -> dict[str, str]:
    base = os.path.join(FLAGS.shared, "benchmark")
    return {name: f"{base}/{name}/x{scale}/HR:{base}/{name}/x{scale}/LR" for name in ("Set5", "Set14")}


def train(scale: int, run_dir: str, extra: list[str]) -> None:
    if os.path.exists(os.path.join(run_dir, "generator_0.keras")):
        return
    runner.run_logged(
        [
            "-m",
            "keras_mdsrgan.train",
            f"--flagfile=flags/repro_x{scale}.cfg",
            f"--run_dir={run_dir}",
            "--verbosity=-1",
            *extra,
        ],
        os.path.join(run_dir, "train.log"),
        os.path.join(run_dir, "train_time.json"),
    )


def ma_model_flags() -> list[str]:
    """``--ma_model`` when ../shared/metrics has the Ma et al. model (PI), else nothing."""
    return runner.ma_model_flags(os.path.join(os.path.dirname(FLAGS.shared), "metrics"))


def evaluate(scale: int, out: str, source: list[str]) -> None:
    if os.path.exists(os.path.join(out, "results.json")):
        return
    sets = ",".join(f"{name}={spec}" for name, spec in benchmark_sets(scale).items())
    runner.run_logged(
        [
            "-m",
            "keras_mdsrgan.evaluate",
            f"--scale={scale}",
            f"--datasets={sets}",
            f"--out={out}",
            "--verbosity=-1",
            *ma_model_flags(),
            *source,
        ],
        out + ".log",
        os.path.join(out, "eval_time.json"),
    )


def run_scale(scale: int) -> None:
    base = os.path.join(FLAGS.out, f"x{scale}")
    pretrain = os.path.join(base, "pretrain")
    train(scale, pretrain, ["--num_pairs=1", "--mode=independent", "--gan_steps=0", "--val_every=500"])
    evaluate(scale, os.path.join(base, "bicubic"), ["--bicubic"])
    evaluate(scale, os.path.join(base, "pretrain_eval"), [f"--run_dir={pretrain}"])
    for seed in FLAGS.seeds:
        for mode in MODES:
            run_dir = os.path.join(base, f"{mode}_seed{seed}")
            train(
                scale,
                run_dir,
                [
                    f"--mode={mode}",
                    f"--seed={seed}",
                    f"--data_seed={seed}",
                    "--pretrain_steps=0",
                    f"--init_generator={os.path.join(pretrain, 'generator_0.keras')}",
                ],
            )
            evaluate(scale, os.path.join(run_dir, "eval"), [f"--run_dir={run_dir}"])


def main(argv):
    del argv
    if not FLAGS.report_only:
        if not os.path.isdir(FLAGS.shared):
            sys.exit(f"{FLAGS.shared}: the shared datasets are needed (T91, BSD200, Set5, Set14)")
        for scale in FLAGS.scales:
            run_scale(int(scale))
    import study_report  # the report needs matplotlib, training does not

    study_report.write(
        FLAGS.out, FLAGS.docs, [int(s) for s in FLAGS.scales], [int(s) for s in FLAGS.seeds], MODES, FLAGS.shared
    )


if __name__ == "__main__":
    app.run(main)
