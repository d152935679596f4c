"""Study B (studies/generator_study.py) runs, reports and resumes, on tiny networks and sample data."""

import json
import math
import os
import subprocess
import sys

import pytest

from conftest import REPO, SMALL_VAL, run_python

TINY = [
    "--nojit_compile",  # XLA's compile time would dominate steps this small (conftest.TINY_RUN)
    "--train=sample:train",
    "--val_max_images=1",
    "--hr_patch=16",
    "--batch_size=2",
    "--num_pairs=2",
    "--gen_filters=4",
    "--gen_blocks=1",
    "--disc_filters=4",
    "--disc_dense=8",
    "--perceptual_weight=0",
    "--pixel_weight=1",
]


def test_generator_study_runs_every_arm_and_seed_once(tmp_path):
    from keras_mdsrgan.model.generators import build_srresnet

    start, flagfile, out = tmp_path / "start.keras", tmp_path / "tiny.cfg", tmp_path / "study"
    build_srresnet(2, 4, 1).save(start)
    flagfile.write_text("\n".join(TINY) + "\n")
    command = [
        sys.executable,
        "generator_study.py",
        f"--start={start}",
        f"--flagfile_base={flagfile}",
        "--scale=2",
        f"--val={SMALL_VAL}",
        "--val_max_images=1",
        "--gan_steps=4",
        "--val_every=2",
        "--endpoint_validations=2",
        "--seeds=2",
        "--arms=adv0,ml",
        "--final_family=val",
        "--jobs=2",
        f"--shared={tmp_path / 'no_shared'}",
        f"--out={out}",
    ]

    def run_study(*extra):
        result = subprocess.run(
            command + list(extra),
            cwd=os.path.join(REPO, "studies"),
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        return result

    first = run_study()
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("keras_mdsrgan.train") == 4 and "keras_mdsrgan.evaluate" in first.stdout
    assert not [line for line in first.stdout.splitlines() if line.count("$ -m") > 1]  # runs side by side: whole lines
    study = json.loads((out / "study.json").read_text())
    assert {arm: sorted(seeds) for arm, seeds in study["runs"].items()} == {"adv0": ["0", "1"], "ml": ["0", "1"]}
    for seeds in study["runs"].values():
        for run in seeds.values():
            assert {"psnr", "ssim", "d_auc", "d_ece"} <= set(run["endpoint"])
            assert sorted(run["curves"]["psnr"], key=int) == ["2", "4"]  # a validation every 2 of 4 steps
            assert {"psnr", "d_auc"} <= set(run["final"]["val"])
    assert set(study["start_eval"]["val"]) == {"start", "bicubic"}
    # The machine each run trained on (from its validation records), named by the report.
    (machine,) = {m for seeds in study["runs"].values() for run in seeds.values() for m in run["machines"]}
    assert study["machine"].startswith(machine) and f"Machine: {machine}" in (out / "study.md").read_text()
    rows = {(r["comparison"], r["metric"]): r for r in study["comparisons"]}
    assert ("ml - adv0", "psnr") in rows and all(r["p_holm"] >= r["p"] for r in rows.values())
    assert (out / "curves.png").stat().st_size > 0 and (out / "plane.png").stat().st_size > 0
    assert "| ml - adv0 | psnr |" in (out / "study.md").read_text()
    # --final_family: the final PSNR and NIQE of its sets compared too, a Holm family of their own.
    final = {(r["comparison"], r["metric"]): r for r in study["final_comparisons"]}
    assert set(final) == {("ml - adv0", "val psnr"), ("ml - adv0", "val niqe")}
    psnr = [study["runs"][arm][s]["final"]["val"]["psnr"] for arm in ("ml", "adv0") for s in ("0", "1")]
    assert final["ml - adv0", "val psnr"]["mean_diff"] == pytest.approx((psnr[0] + psnr[1] - psnr[2] - psnr[3]) / 2)
    assert "| ml - adv0 | val psnr |" in (out / "study.md").read_text()

    pull = run_python(
        "adversary_probe.py", f"--study={out}", "--arms=ml", cwd=os.path.join(REPO, "studies"), timeout=600
    )
    assert pull.returncode == 0, pull.stderr[-3000:]
    measured = json.loads((out / "adversary.json").read_text())["measured"]
    assert sorted(measured["ml"]) == ["0", "1"]
    assert all(
        math.isfinite(value) for run in measured["ml"].values() for key, value in run.items() if key != "checkpoints"
    )
    no_pull = run_python(
        "adversary_probe.py", f"--study={out}", "--arms=adv0", cwd=os.path.join(REPO, "studies"), timeout=600
    )
    assert no_pull.returncode == 1 and "adversarial weight 0" in no_pull.stderr.strip().splitlines()[-1]

    timings = {p: p.read_text() for p in out.glob("runs/*/train_time.json")}
    threads = max(1, (os.cpu_count() or 1) // 2)  # --jobs=2 shares the cores out
    assert {json.loads(t)["threads"] for t in timings.values()} == {threads}
    again = run_study()  # everything finished: nothing trains, the report is rewritten
    assert again.returncode == 0 and "keras_mdsrgan" not in again.stdout, again.stdout[-3000:]
    assert {p: p.read_text() for p in out.glob("runs/*/train_time.json")} == timings and len(timings) == 4
    assert json.loads((out / "study.json").read_text())["runs"] == study["runs"]

    typo = run_study("--final_family=Set5")  # not a validation set: one line, before any run
    assert typo.returncode == 2 and "--final_family: Set5 not among" in typo.stderr.strip().splitlines()[-1]
    assert "keras_mdsrgan" not in typo.stdout

    refused = run_study("--adversarial_weight=1e-2")  # other settings are not mixed into OUT
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1].startswith("error:")
    assert "--adversarial_weight" in refused.stderr


def test_weaker_adversary_pairs_the_two_studies_by_seed(tmp_path):
    """weak − independent and ml − weak, paired over seeds, from the two studies' JSON; studies
    that differ in more than the adversarial weight are refused."""

    def run(psnr):
        return {"endpoint": {"psnr": psnr, "ssim": 0.8, "niqe": 7.0}, "final": {"Set5": {"psnr": psnr}}}

    settings = {"start": "abc", "gan_steps": 1000, "adversarial_weight": 1e-3, "val": {"Set5": "HR:LR"}}
    study = {
        "settings": settings,
        "runs": {
            "independent": {str(s): run(28.0 + s) for s in range(3)},
            "ml": {str(s): run(28.3 + s + 0.1 * (s == 2)) for s in range(3)},
        },
    }
    weak = {
        "settings": {**settings, "adversarial_weight": 7.5e-4},
        "runs": {"independent": {str(s): run(28.1 + s) for s in range(4)}},
    }  # seed 3 has no partner
    for name, payload in (("b", study), ("b_weak", weak)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.json").write_text(json.dumps(payload))

    def compare():
        return run_python(
            "weaker_adversary.py",
            f"--study={tmp_path / 'b'}",
            f"--weak={tmp_path / 'b_weak'}",
            cwd=os.path.join(REPO, "studies"),
            timeout=300,
        )

    result = compare()
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {
        (r["a"], r["b"], r["where"], r["metric"]): r
        for r in json.loads((tmp_path / "b_weak" / "comparison.json").read_text())["comparisons"]
    }
    weak_minus_independent = rows["weak", "independent", "endpoint", "psnr"]
    assert weak_minus_independent["n"] == 3 and math.isclose(weak_minus_independent["mean_diff"], 0.1)
    ml_minus_weak = rows["ml", "weak", "endpoint", "psnr"]
    assert math.isclose(ml_minus_weak["mean_diff"], 0.2 + 0.1 / 3) and ml_minus_weak["positive"] == 3
    assert ml_minus_weak["p_holm"] >= ml_minus_weak["p"] and ("ml", "weak", "final Set5", "psnr") in rows
    assert "| ml − weak | endpoint psnr |" in (tmp_path / "b_weak" / "comparison.md").read_text()
    tost = json.loads((tmp_path / "b_weak" / "comparison.json").read_text())["equivalence"]
    assert math.isclose(tost["effect"], 0.3 + 0.1 / 3) and math.isclose(tost["margin"], tost["effect"] / 2)
    assert (tmp_path / "b_weak" / "comparison_plane.png").stat().st_size > 0

    weak["settings"]["gan_steps"] = 500
    (tmp_path / "b_weak" / "study.json").write_text(json.dumps(weak))
    refused = compare()
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 2 and last.startswith("error: the two studies differ in more than the adversarial")
    assert last.endswith(": gan_steps")


def test_study_b_report_is_remade_from_its_committed_record(tmp_path, shared_datasets):
    """The committed docs/study/b report comes back byte for byte from its study.json, and its Holm
    family holds no row that cannot differ (control trains exactly as independent)."""
    import shutil

    committed = os.path.join(REPO, "docs", "study", "b")  # the paper table needs ../shared/paper
    out = shutil.copytree(committed, tmp_path / "b")
    for name in ("study.md", "plane.png", "curves.png"):
        os.remove(out / name)
    result = run_python(
        "generator_study.py",
        f"--out={out}",
        "--arms=adv0,independent,control,ml,labels",
        "--seeds=9",
        "--replication_from=5",
        "--from_study_json",
        cwd=os.path.join(REPO, "studies"),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("study.md", "study.json", "plane.png", "curves.png"):
        with open(os.path.join(committed, name), "rb") as a, open(out / name, "rb") as b:
            assert a.read() == b.read(), name
    study = json.loads((out / "study.json").read_text())
    assert not [r for r in study["comparisons"] if r["comparison"].startswith("control - ")]
    assert {(r["comparison"], r["reason"].split(" as ")[0]) for r in study["left_out"]} == {
        ("control - independent", "every difference exactly 0"),
        ("control - adv0", "the same differences"),
    }
