"""The x4-gan pilot (docs/zoo/plan.md): short GAN stages from one start generator at several
adversarial weights, with holdout PSNR and NIQE every --val_every steps beside the start's and bicubic's.

  python scripts/zoo_gan_pilot.py --start=runs/zoo_x4/best/generator_0.keras
      [--weights=1e-3,5e-3,1e-3:2e-5] [--steps=500] [--out=docs/zoo/gan_pilot.json]

Each stage is an ordinary `train` run (flags/zoo_x4.cfg's data and networks, the paper's
discriminator, K = 1 `independent`) under --runs_root/w<weight>[_lr<rate>]; it resumes where it stopped,
so re-running the script after an interruption finishes what is left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from absl import app, flags

HOLDOUT = "holdout=flags/zoo/holdout.txt"

flags.DEFINE_string("start", None, "The start generator (.keras), e.g. the x4 run's best one.")
flags.DEFINE_list(
    "weights", ["1e-3", "5e-3", "2e-2"], "Stages: adversarial weight W, or W:LR (Adam rate LR for both nets)."
)
flags.DEFINE_integer("steps", 500, "GAN steps per stage.", lower_bound=1)
flags.DEFINE_integer("val_every", 100, "Steps between holdout validations.", lower_bound=1)
flags.DEFINE_string("runs_root", "runs/zoo_gan_pilot", "Folder of the stages' run folders.")
flags.DEFINE_string("out", "docs/zoo/gan_pilot.json", "The pilot's curves and references.")
flags.mark_flag_as_required("start")
FLAGS = flags.FLAGS


def run(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", *args], check=True)


def stage(spec: str) -> list[dict]:
    """One GAN stage, ``W`` or ``W:LR`` (Adam 10⁻⁴ unless given); its holdout curve [{step, psnr, ssim, niqe}]."""
    weight, _, lr = spec.partition(":")
    lr = lr or "1e-4"
    run_dir = os.path.join(FLAGS.runs_root, f"w{weight}" + (f"_lr{lr}" if lr != "1e-4" else ""))
    run(
        [
            "keras_mdsrgan.train",
            "--flagfile=flags/zoo_x4.cfg",
            f"--run_dir={run_dir}",
            f"--val={HOLDOUT}",
            "--val_max_images=10",
            f"--init_generator={FLAGS.start}",
            "--noinit_partial",
            "--pretrain_steps=0",
            f"--gan_steps={FLAGS.steps}",
            f"--adversarial_weight={weight}",
            f"--gen_lr={lr}",
            f"--disc_lr={lr}",
            f"--val_every={FLAGS.val_every}",
            "--checkpoint_every=250",
            "--keep_checkpoints=2",
        ]
    )
    with open(os.path.join(run_dir, "validation.jsonl"), encoding="utf-8") as f:
        records = {r["step"]: r for r in map(json.loads, f)}  # a resumed stage re-validates: keep the newest
    return [{"step": s, **{k: records[s]["pair0"][k] for k in ("psnr", "ssim", "niqe")}} for s in sorted(records)]


def references() -> dict:
    """The start generator's and bicubic's holdout scores."""
    out = os.path.join(FLAGS.runs_root, "start")
    run(
        [
            "keras_mdsrgan.evaluate",
            "--scale=4",
            f"--datasets={HOLDOUT}",
            f"--models={FLAGS.start}",
            "--model_names=start",
            "--bicubic",
            f"--out={out}",
        ]
    )
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        holdout = json.load(f)["results"]["holdout"]
    return {name: {k: holdout[name][k] for k in ("psnr", "ssim", "niqe")} for name in ("start", "bicubic")}


def main(argv: list[str]) -> None:
    del argv
    result = {"start": FLAGS.start, "steps": FLAGS.steps, "references": references()}
    result["stages"] = {w: stage(w) for w in FLAGS.weights}
    with open(FLAGS.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    os.replace(FLAGS.out + ".tmp", FLAGS.out)
    print("stage       step   PSNR   NIQE")
    for name, scores in result["references"].items():
        print(f"{name:11s} {'':5s} {scores['psnr']:6.2f} {scores['niqe']:6.3f}")
    for weight, curve in result["stages"].items():
        for point in curve:
            print(f"{weight:11s} {point['step']:5d} {point['psnr']:6.2f} {point['niqe']:6.3f}")


if __name__ == "__main__":
    app.run(main)
