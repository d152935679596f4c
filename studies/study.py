"""Issue #13's discriminator study in one resumable command, at x4 on ../shared (T91 + BSD200).

The default parts, a and b, are the study the issue asks for, sized for about 4 h on a 2-core
AMD EPYC (estimated: ≈ 2 h on an Intel Xeon, docs/RESULTS.md "Budget"). The others are the
start generator's pre-training and the follow-ups that the study's results called for, each
planned in a committed file before it ran.

  start        the start generator: SRResNet MSE pre-training with flags/repro_x4.cfg (one pair,
               8 blocks x 32 channels, 64² HR patches, batch 16, Adam 1e-3): 2000 steps, then 6000
               more from that generator (fresh Adam state); OUT/pretrain_2/generator_0.keras.
               Without it, the committed docs/study/start/generator_0.keras is copied there.
  a            Study A (discriminator_study.py): K = 2 discriminators against that generator,
               frozen (every pair the same, as at the start of a GAN stage), 8 paired seeds x 4
               arms (independent, control, ml, ml_star) x 100 steps, scored on a probe cut from Set14
  b            Study B (generator_study.py): GAN stages from it, 5 paired seeds x 3 arms (adv0,
               independent, ml) x 1000 steps with the networks of flags/repro_x4.cfg but 48² HR
               patches in batches of 8, validated on Set5 every 100 steps and on Set5 and Set14 at
               the end, two runs side by side. The λ = 0 control trains exactly as independent in
               a GAN stage (a unit test; part b_followups runs it to show it): not in the budget.
  b_followups  Study B's follow-ups: control for seeds 0-4; seeds 5-8 of independent and ml
               (the replication planned after seeds 0-4, docs/study/b/extension_plan.md); seeds
               0-8 of labels (docs/study/b/labels_plan.md); how hard each arm's discriminators
               pull their generators (adversary_probe.py, docs/study/b/adversary_plan.md);
               independent at 0.75x the adversarial weight, seeds 0-8, in OUT/b_weak, against
               Study B's independent and ml (weaker_adversary.py, docs/study/b/weaker_adversary_plan.md)
  a_gan        Study A again, against generators after a GAN stage: the two (different)
               generators of Study B's independent seed-0 run, one per pair; arms control, ml and
               labels (the true labels on ml's sources), 8 paired seeds x 100 steps; then the same
               in OUT/a_gan_1 and OUT/a_gan_2 with the seed-1 and seed-2 runs' pairs
               (docs/study/a_gan_1/plan.md, docs/study/a_gan_2/plan.md)
  c_pilot      Study C's pilot (docs/study/c/plan.md §1): adv0 and independent, seed 0, 4000 GAN
               steps from the start generator with Study B's networks, trained on T91 + BSD200
               less the holdout, validated on the holdout every 250 steps; pilot.py picks the
               stage length L into OUT/c/pilot/pilot.md
  c            Study C (plan §2): independent at 0.5, 0.75, 1, 1.5, 2 x 1e-3 and ml at 0.75 and
               1 x 1e-3 (adv0 beside the first), --c_seeds paired seeds, stage length L; then
               frontier.py into OUT/c
  c_x2         the paper's Table 1 (plan §3): an x2 start generator pre-trained as part start's
               (flags/repro_x2.cfg) in OUT/x2_start, then adv0, independent and ml at 1e-3, 5
               paired seeds, stage length L, at x2, into OUT/c/x2 (its study.md tests them on
               Set5 and Set14's final PSNR and NIQE, one Holm family, and sets them beside the
               paper's Table 1)

Study B's report (OUT/b/study.json) covers every run its folder holds, so it grows with
b_followups into the committed docs/study/b/study.json. Each part skips what is finished and
resumes what was interrupted, so the command can be run again after a stop until it completes;
every run's wall time is recorded beside it. Ctrl-C stops it once the running runs have saved a
checkpoint. To carry finished runs to another machine, `bash studies/milestone.sh save RECORD`
(commit RECORD), then `bash studies/milestone.sh restore RECORD` there.

  python studies/study.py [--parts=a,b] [--out=runs/study]
  python studies/study.py --parts=start,a,b,b_followups,a_gan   # everything in docs/RESULTS.md
  python studies/study.py --parts=c_pilot,c,c_x2                # Study C and the x2 table (issue #27)
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from absl import app, flags

import runner

ROOT = runner.ROOT
SHARED = "../shared/datasets"  # as the commands below spell it: they run in the repository root
PARTS = ("start", "a", "b", "b_followups", "a_gan", "c_pilot", "c", "c_x2")
COMMITTED_START = os.path.join("docs", "study", "start", "generator_0.keras")

flags.DEFINE_list("parts", ["a", "b"], f"Parts to run, of {', '.join(PARTS)}.")
flags.DEFINE_string("out", os.path.join(ROOT, "runs", "study"), "Folder of every run (not committed).")
flags.DEFINE_integer(
    "c_seeds",
    6,
    "Paired seeds of Study C (6: the pilot's arithmetic, docs/study/c/plan.md Amendment 3).",
    lower_bound=2,
)
flags.register_validator("parts", lambda parts: set(parts) <= set(PARTS), f"--parts must be among {', '.join(PARTS)}")
FLAGS = flags.FLAGS

PRETRAIN = [  # (run folder, extra flags): each stage starts from the previous one's generator
    ("pretrain_1", ["--pretrain_steps=2000"]),
    ("pretrain_2", ["--pretrain_steps=6000", "--init_generator={out}/pretrain_1/generator_0.keras"]),
]


def final_generator(folder: str) -> str:
    """The last pre-training stage's generator in ``folder``: the start of every study."""
    return os.path.join(folder, PRETRAIN[-1][0], "generator_0.keras")


def start_generator() -> str:
    """The x4 start generator: made by the pre-training chain with part start (each stage skipped
    once its generator exists, all of it once the final one does), else copied from the committed
    one."""
    final = final_generator(FLAGS.out)
    if os.path.exists(os.path.join(ROOT, final)):
        return final
    if "start" not in FLAGS.parts:
        os.makedirs(os.path.dirname(os.path.join(ROOT, final)), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, COMMITTED_START), os.path.join(ROOT, final + ".tmp"))
        os.replace(os.path.join(ROOT, final + ".tmp"), os.path.join(ROOT, final))
        print(f"{final}: copied from {COMMITTED_START} (--parts=start pre-trains it instead)")
        return final
    return pretrain_chain("flags/repro_x4.cfg", FLAGS.out)


def pretrain_chain(flagfile: str, out: str) -> str:
    """The pre-training stages of PRETRAIN with ``flagfile``'s networks and data, in ``out``; each
    stage is skipped once its generator exists. Returns the final generator."""
    for name, extra in PRETRAIN:
        folder = os.path.join(out, name)
        if not os.path.exists(os.path.join(ROOT, folder, "generator_0.keras")):
            runner.run_logged(
                [
                    "-m",
                    "keras_mdsrgan.train",
                    f"--flagfile={flagfile}",
                    "--num_pairs=1",
                    "--mode=independent",
                    "--gan_steps=0",
                    "--pretrain_lr=1e-3",
                    "--val_every=1000",
                    "--checkpoint_every=500",
                    "--verbosity=-1",
                    f"--run_dir={folder}",
                    *(e.format(out=out) for e in extra),
                ],
                os.path.join(ROOT, folder + ".log"),
            )
    return final_generator(out)


def main(argv):
    del argv
    FLAGS.out = os.path.relpath(os.path.abspath(FLAGS.out), ROOT)  # the runs' settings record these paths
    os.makedirs(os.path.join(ROOT, FLAGS.out), exist_ok=True)
    if not os.path.isdir(os.path.join(ROOT, SHARED)):
        sys.exit(f"{SHARED}: the shared datasets are needed beside the repository (T91, BSD200, Set5, Set14)")
    generator = start_generator()
    if "a" in FLAGS.parts:
        study_a("a", [generator], ["independent", "control", "ml", "ml_star"])
    if {"b", "b_followups"} & set(FLAGS.parts):
        study_b(generator)
    if "a_gan" in FLAGS.parts:
        for name, seed in (("a_gan", 0), ("a_gan_1", 1), ("a_gan_2", 2)):  # plans: docs/study/a_gan_{1,2}/plan.md
            after_gan = [
                os.path.join(FLAGS.out, "b", "runs", f"independent_seed{seed}", f"generator_{k}.keras") for k in (0, 1)
            ]
            if not all(os.path.exists(os.path.join(ROOT, g)) for g in after_gan):
                sys.exit(
                    f"part a_gan needs the generators of part b's independent seed-{seed} run: {', '.join(after_gan)}"
                )
            study_a(name, after_gan, ["control", "ml", "labels"])
    if {"c_pilot", "c"} & set(FLAGS.parts):
        study_c(generator)
    if "c_x2" in FLAGS.parts:
        study_c_x2()


C_INDEPENDENT = (5e-4, 7.5e-4, 1e-3, 1.5e-3, 2e-3)  # the frontier's adversarial weights (plan §2)
C_ML = (7.5e-4, 1e-3)


def study_c(generator: str) -> None:
    """generator_study.py: the pilot (pilot.py decides L), then one folder per arm and weight, then
    frontier.py over them (docs/study/c/plan.md)."""
    base, log = f"{FLAGS.out}/c", os.path.join(ROOT, FLAGS.out, "c.log")
    common = c_stage(generator, 4)
    pilot = f"{base}/pilot"
    if "c_pilot" in FLAGS.parts:
        runner.run_logged(
            [*common, f"--out={pilot}", "--arms=adv0,independent", "--seeds=1", "--gan_steps=4000", "--val_every=250"],
            log,
        )
        runner.run_logged(["studies/pilot.py", f"--study={pilot}"], log)
    if "c" not in FLAGS.parts:
        return
    length = stage_length("c")
    stage = [f"--seeds={FLAGS.c_seeds}", f"--gan_steps={length}", f"--val_every={length // 4}"]
    folders = {"independent": {}, "ml": {}}
    for arm, weights in (("independent", C_INDEPENDENT), ("ml", C_ML)):
        for weight in weights:
            folder = folders[arm][weight] = f"{base}/{arm}_{weight:g}"
            arms = "adv0,independent" if (arm, weight) == ("independent", C_INDEPENDENT[0]) else arm
            runner.run_logged(
                [*common, *stage, f"--out={folder}", f"--arms={arms}", f"--adversarial_weight={weight}"], log
            )
    runner.run_logged(
        [
            "studies/frontier.py",
            "--independent=" + ",".join(f"{w:g}={f}" for w, f in folders["independent"].items()),
            "--ml=" + ",".join(f"{w:g}={f}" for w, f in folders["ml"].items()),
            f"--out={base}",
        ],
        log,
    )


def c_stage(generator: str, scale: int) -> list[str]:
    """generator_study.py's settings shared by Study C's runs at ``scale``: Study B's patches, the
    zoo's training list (the holdout not trained on), validated on the holdout, Set5 and Set14."""
    sets = ",".join(
        f"{s}={SHARED}/benchmark/{s}/x{scale}/HR:{SHARED}/benchmark/{s}/x{scale}/LR" for s in ("Set5", "Set14")
    )
    return [
        "studies/generator_study.py",
        f"--start={generator}",
        f"--scale={scale}",
        "--extra=--batch_size=8",
        "--extra=--hr_patch=48",
        f"--extra=--train={SHARED}/train/T91,flags/zoo/train_bsd200.txt",  # the holdout is not trained on
        f"--val=holdout=flags/zoo/holdout.txt,{sets}",
        "--jobs=2",
    ]


def stage_length(part: str) -> int:
    """The GAN stage length L that the pilot decided (OUT/c/pilot/pilot.json), or exit naming it."""
    decided = os.path.join(ROOT, FLAGS.out, "c", "pilot", "pilot.json")
    if not os.path.exists(decided):
        sys.exit(
            f"part {part} needs the pilot's stage length: {FLAGS.out}/c/pilot/pilot.json (run --parts=c_pilot first)"
        )
    with open(decided) as f:
        return json.load(f)["length"]


def study_c_x2() -> None:
    """The paper's Table 1 (docs/study/c/plan.md §3): an x2 start generator pre-trained as the x4
    one, then Study B's core arms at x2 for the pilot's stage length."""
    length = stage_length("c_x2")
    generator = pretrain_chain("flags/repro_x2.cfg", f"{FLAGS.out}/x2_start")
    runner.run_logged(
        [
            *c_stage(generator, 2),
            "--flagfile_base=flags/repro_x2.cfg",
            f"--out={FLAGS.out}/c/x2",
            "--arms=adv0,independent,ml",
            "--seeds=5",
            f"--gan_steps={length}",
            f"--val_every={length // 4}",
            "--final_family=Set5,Set14",
        ],
        os.path.join(ROOT, FLAGS.out, "c_x2.log"),
    )


def study_b(generator: str) -> None:
    """generator_study.py: part b's runs, part b_followups' runs, the report over every run of
    OUT/b, then b_followups' analyses of those runs (see the module's docstring)."""
    study, weak, log = f"{FLAGS.out}/b", f"{FLAGS.out}/b_weak", os.path.join(ROOT, FLAGS.out, "b.log")
    common = [
        "studies/generator_study.py",
        f"--start={generator}",
        "--extra=--batch_size=8",
        "--extra=--hr_patch=48",
        "--val_every=100",
        "--jobs=2",
    ]
    runs = []
    if "b" in FLAGS.parts:
        runs.append(["--arms=adv0,independent,ml", "--seeds=5"])
    if "b_followups" in FLAGS.parts:
        runs += [
            ["--arms=control", "--seeds=5"],
            ["--arms=independent,ml", "--seeds=9"],
            ["--arms=labels", "--seeds=9"],
        ]
    for extra in runs:
        runner.run_logged([*common, f"--out={study}", *extra], log)
    runner.run_logged(
        [
            *common,
            f"--out={study}",
            "--arms=adv0,independent,control,ml,labels",
            "--seeds=9",
            "--replication_from=5",
            "--report_only",
        ],
        log,
    )
    if "b_followups" in FLAGS.parts:
        runner.run_logged(["studies/adversary_probe.py", f"--study={study}"], log)
        runner.run_logged(
            [*common, f"--out={weak}", "--arms=independent", "--seeds=9", "--adversarial_weight=7.5e-4"], log
        )
        runner.run_logged(["studies/weaker_adversary.py", f"--study={study}", f"--weak={weak}"], log)


def study_a(name: str, generators: list[str], arms: list[str]) -> None:
    """discriminator_study.py against ``generators`` (one for every pair, or one each) in OUT/NAME."""
    runner.run_logged(
        [
            "studies/discriminator_study.py",
            f"--generators={','.join(generators)}",
            "--scale=4",
            f"--train={SHARED}/train/T91,{SHARED}/train/BSD200",
            f"--val={SHARED}/benchmark/Set14/x4/HR:{SHARED}/benchmark/Set14/x4/LR",
            "--seeds=8",
            "--steps=100",
            f"--arms={','.join(arms)}",
            f"--out={FLAGS.out}/{name}",
        ],
        os.path.join(ROOT, FLAGS.out, f"{name}.log"),
    )


if __name__ == "__main__":
    app.run(main)
