"""Study C's frontier distances (studies/frontier.py) on points whose answers are known."""

import json
import os
import sys

import pytest

from conftest import REPO, run_python
from keras_mdsrgan.errors import UserError

sys.path.insert(0, os.path.join(REPO, "studies"))
import frontier  # noqa: E402

# One seed's independent points in order of weight: (PSNR, NIQE), PSNR and NIQE falling together.
LINE = [(29.0, 8.0), (28.5, 7.5), (28.0, 7.0)]


def test_distances_interpolate_along_the_weights_and_never_extrapolate():
    near = frontier.distances(LINE, (28.75, 7.5))  # frontier NIQE at 28.75: 7.75; PSNR at NIQE 7.5: 28.5
    assert near["delta_niqe"] == pytest.approx(-0.25) and near["delta_psnr"] == pytest.approx(0.25)
    on = frontier.distances(LINE, (28.25, 7.25))
    assert on["delta_niqe"] == pytest.approx(0.0) and on["delta_psnr"] == pytest.approx(0.0)
    outside = frontier.distances(LINE, (29.5, 7.5))
    assert outside["delta_niqe"] is None and outside["delta_psnr"] == pytest.approx(1.0)


def test_a_polyline_crossed_twice_counts_its_best_crossing():
    zigzag = [(29.0, 8.0), (28.0, 7.0), (28.8, 7.6)]  # PSNR 28.5 is crossed at NIQE 7.5 and 7.375
    assert frontier.crossing(zigzag, 28.5, axis=0, best=min) == pytest.approx(7.375)


def _scores(psnr, niqe, n_images):
    # The discriminator's AUC follows PSNR, so that matched rows have known differences.
    return {"psnr": psnr, "niqe": niqe, "d_auc": psnr / 100, "d_inference_auc": 0.5, "n_images": n_images}


def _study(folder, arm, points, anchor=None):
    """A generator_study.py output with ``arm``'s runs at ``points`` (Set5 PSNR, NIQE, Set14 PSNR,
    NIQE per seed); the holdout scores 1 dB below Set5 with Set5's NIQE."""

    def runs(points):
        return {
            str(seed): {
                "final": {
                    "Set5": _scores(p5, n5, 5),
                    "Set14": _scores(p14, n14, 14),
                    "holdout": _scores(p5 - 1, n5, 10),
                }
            }
            for seed, (p5, n5, p14, n14) in enumerate(points)
        }

    folder.mkdir()
    study = {arm: runs(points), **({"adv0": runs(anchor)} if anchor else {})}
    (folder / "study.json").write_text(json.dumps({"runs": study}))


def test_the_command_pools_the_sets_tests_each_distance_and_draws_the_plane(tmp_path):
    # Set5 and Set14 equal, so the pooled point is that value; three seeds, the same frontier.
    for name, (p, n) in {"w0.5": (29.0, 8.0), "w0.75": (28.75, 7.75), "w1": (28.5, 7.5), "w2": (28.0, 7.0)}.items():
        _study(tmp_path / name, "independent", [(p, n, p, n)] * 3, anchor=[(30.0, 9.0, 30.0, 9.0)] * 3)
    _study(tmp_path / "ml1", "ml", [(28.75, 7.4, 28.75, 7.4), (28.75, 7.5, 28.75, 7.5), (28.6, 7.5, 28.6, 7.5)])
    result = run_python(
        "studies/frontier.py",
        f"--independent=5e-4={tmp_path / 'w0.5'},7.5e-4={tmp_path / 'w0.75'},1e-3={tmp_path / 'w1'},"
        f"2e-3={tmp_path / 'w2'}",
        f"--ml=1e-3={tmp_path / 'ml1'}",
        f"--out={tmp_path}",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((tmp_path / "frontier.json").read_text())
    rows = {r["distance"]: r for r in saved["rows"]}
    # ΔNIQE per seed: 7.4 - 7.75, 7.5 - 7.75, 7.5 - 7.6.
    assert rows["delta_niqe"]["mean_diff"] == pytest.approx((-0.35 - 0.25 - 0.1) / 3)
    assert rows["delta_niqe"]["n"] == 3 and rows["delta_niqe"]["left_out"] == 0
    assert rows["delta_psnr"]["p_holm"] >= rows["delta_psnr"]["p"]
    assert "| 0.001 | delta_niqe |" in (tmp_path / "frontier.md").read_text()
    assert (tmp_path / "plane.png").read_bytes()[:4] == b"\x89PNG"
    # The holdout shifts every PSNR by -1 dB and keeps Set5's NIQE: the same ΔNIQE, uncorrected.
    holdout = {r["distance"]: r for r in saved["secondary"]["distances"]}
    assert holdout["delta_niqe"]["mean_diff"] == pytest.approx(rows["delta_niqe"]["mean_diff"])
    assert "p_holm" not in holdout["delta_niqe"]
    # ml at 1e-3 against independent at 0.75e-3 and at 1e-3: PSNR (28.75 + 28.75 + 28.6) / 3 - 28.75 and - 28.5.
    matched = {(r["independent_weight"], r["metric"]): r for r in saved["secondary"]["matched"]}
    assert sorted({w for w, _ in matched}) == [7.5e-4, 1e-3]
    assert matched[7.5e-4, "psnr"]["mean_diff"] == pytest.approx(-0.05)
    assert matched[1e-3, "psnr"]["mean_diff"] == pytest.approx(0.2)
    assert matched[1e-3, "d_auc"]["mean_diff"] == pytest.approx(0.002)
    arms = {(r["arm"], r["weight"]): r for r in saved["secondary"]["arms"]}
    assert arms["adv0", None]["niqe"] == pytest.approx(9.0) and arms["ml", 1e-3]["n"] == 3
    assert saved["anchor"]["0"] == [30.0, 9.0]


def test_folders_without_a_study_or_the_arm_are_named_in_one_line(tmp_path):
    with pytest.raises(UserError, match=r"study\.json: missing; run the study for"):
        frontier.read_arm([f"1e-3={tmp_path}"], "ml")
    (tmp_path / "study.json").write_text(json.dumps({"runs": {"independent": {}}}))
    with pytest.raises(UserError, match=r"study\.json: no ml runs"):
        frontier.read_arm([f"1e-3={tmp_path}"], "ml")
    with pytest.raises(UserError, match="is not WEIGHT=FOLDER"):
        frontier.read_arm([str(tmp_path)], "ml")
    missing = tmp_path / "missing"
    command = run_python(
        "studies/frontier.py",
        f"--independent=1e-3={tmp_path}",
        f"--ml=1e-3={missing}",
        f"--out={tmp_path}",
        timeout=120,
    )
    assert command.returncode == 2 and "Traceback" not in command.stderr
    assert command.stderr.strip() == f"error: {missing / 'study.json'}: missing; run the study for {missing} first"


def test_runs_without_the_secondary_scores_still_get_the_primary_family(tmp_path):
    """Older runs (no holdout, no discriminator scores): the distances are reported, each secondary
    part says why it is missing, and rows with too few seeds keep the table's columns."""

    def study(folder, arm, points):
        finals = {str(s): {"final": {"Set5": {"psnr": p, "niqe": n, "n_images": 5}}} for s, (p, n) in enumerate(points)}
        folder.mkdir()
        (folder / "study.json").write_text(json.dumps({"runs": {arm: finals}}))

    for name, (p, n) in {"w0.5": (29.0, 8.0), "w1": (28.5, 7.5), "w2": (28.0, 7.0)}.items():
        study(tmp_path / name, "independent", [(p, n)] * 3)
    study(tmp_path / "ml1", "ml", [(28.75, 7.4), (30.0, 6.0), (30.0, 6.0)])  # two seeds beyond the frontier
    result = run_python(
        "studies/frontier.py",
        f"--independent=5e-4={tmp_path / 'w0.5'},1e-3={tmp_path / 'w1'},2e-3={tmp_path / 'w2'}",
        f"--ml=1e-3={tmp_path / 'ml1'}",
        "--sets=Set5",
        f"--out={tmp_path}",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = (tmp_path / "frontier.md").read_text()
    assert report.count("Not made: a run has no final") == 3
    tables = [line for line in report.splitlines() if line.startswith("|")]
    assert "too few seeds" in report and len({line.count("|") for line in tables}) == 1
