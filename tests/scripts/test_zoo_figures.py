"""scripts/zoo_figures.py draws what it has and says what it skipped."""

import json

from conftest import run_python


def test_curves_of_a_running_model_and_crops_skipped_without_models(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    records = [{"step": s, "pair0": {"psnr": 30 + s / 1000}} for s in (1000, 2000, 3000)]
    (run / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_python(
        "scripts/zoo_figures.py", f"--out={tmp_path}", "--models=missing.keras", f"--runs=x2={run}", timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "crops.png: none of missing.keras is shipped or on disk; not drawn" in result.stdout
    assert f"wrote {tmp_path / 'curves.png'}" in result.stdout
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not (tmp_path / "crops.png").exists()
