"""The study runners still run (on tiny sizes) and check their inputs."""

import json
import os

import pytest

from conftest import REPO, run_python

STUDIES = os.path.join(REPO, "studies")


def test_discriminator_study_runs_every_arm_and_compares_them(tmp_path):
    from keras_mdsrgan.model.generators import build_srresnet

    generator = tmp_path / "g.keras"
    build_srresnet(2, 4, 1).save(generator)
    out = tmp_path / "study"

    def run_study(*extra):
        return run_python(
            "discriminator_study.py",
            f"--generators={generator}",
            "--scale=2",
            "--hr_patch=16",
            "--batch_size=2",
            "--disc_filters=4",
            "--disc_dense=8",
            "--steps=2",
            "--seeds=2",
            "--arms=ml,control,independent",
            f"--out={out}",
            *extra,
            cwd=STUDIES,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            timeout=600,
        )

    first_run = run_study()
    assert first_run.returncode == 0 and "control seed 1: AUC" in first_run.stdout, first_run.stderr[-3000:]
    first = json.loads((out / "study.json").read_text())
    again = run_study()  # run again: every finished run is kept, none trains
    assert again.returncode == 0 and "AUC" not in again.stdout, again.stderr[-3000:]
    study = json.loads((out / "study.json").read_text())
    assert study["runs"] == first["runs"] and (out / "study.png").stat().st_size > 0
    assert list(study["runs"]) == ["independent", "control", "ml"]  # the arms asked for, in the study's order
    assert set(study["runs"]["ml"]["0"]) == {"all", "own", "peers", "bicubic"}
    assert {r["comparison"] for r in study["comparisons"]} == {"ml - control"}
    assert all(row["p_holm"] >= row["p"] for row in study["comparisons"])
    # With λ = 0 the control trains exactly as independent: identical scores, seed by seed, so its
    # rows cannot differ and stay out of the Holm family, named in the report. (Two steps of tiny
    # networks may leave a metric of ml − control unmoved too: then it is left out as well.)
    assert study["runs"]["control"] == study["runs"]["independent"]
    left_out = {(r["comparison"], r["metric"]): r["reason"] for r in study["left_out"]}
    assert {m for c, m in left_out if c == "control - independent"} == {"auc", "acc", "nll", "ece", "brier"}
    assert set(left_out.values()) == {"every difference exactly 0"}
    assert len(study["comparisons"]) + sum(c == "ml - control" for c, _ in left_out) == 5
    assert "Left out of the family (they cannot differ): control - independent" in (out / "study.md").read_text()
    refused = run_study("--steps=3")  # other settings are not mixed into OUT
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1].startswith("error:")
    assert "--steps" in refused.stderr


def test_study_command_checks_its_parts():
    result = run_python("study.py", "--parts=start,d", cwd=STUDIES, timeout=60)
    assert (
        result.returncode == 1
        and "--parts must be among start, a, b, b_followups, a_gan, c_pilot, c, c_x2" in result.stderr
    )


def test_study_starts_from_the_committed_generator_without_part_start(shared_datasets, tmp_path):
    out = tmp_path / "study"
    result = run_python("study.py", "--parts=a_gan", f"--out={out}", cwd=STUDIES, timeout=60)
    committed = os.path.join(REPO, "docs", "study", "start", "generator_0.keras")
    with open(committed, "rb") as f:
        assert (out / "pretrain_2" / "generator_0.keras").read_bytes() == f.read()
    assert "copied from docs/study/start/generator_0.keras" in result.stdout
    # a_gan needs part b's runs: refused in one line, not a traceback.
    assert result.returncode == 1 and "part a_gan needs the generators of part b" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("part", ["c", "c_x2"])
def test_study_c_needs_its_pilot_first(shared_datasets, tmp_path, part):
    """Before any training: part c_x2 does not pre-train its x2 start without a stage length."""
    out = tmp_path / "study"
    result = run_python("study.py", f"--parts={part}", f"--out={out}", cwd=STUDIES, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"part {part} needs the pilot's stage length")
    assert not (out / "x2_start").exists()
