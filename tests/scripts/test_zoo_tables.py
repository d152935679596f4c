"""scripts/zoo_tables.py: docs/MODELS.md's zoo tables are the shipped files' figures."""

import os

from conftest import REPO, run_python


def test_the_committed_doc_matches_the_shipped_files():
    result = run_python("scripts/zoo_tables.py", "--check", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "tables match the shipped files" in result.stdout


def test_a_stale_figure_is_found_and_rewritten(tmp_path):
    with open(os.path.join(REPO, "docs", "MODELS.md"), encoding="utf-8") as f:
        doc = f.read()
    stale = doc.replace("37.48 / 33.02", "37.99 / 33.99")  # x2's Set5 / Set14 PSNR in the ladder
    assert stale != doc
    copy = tmp_path / "MODELS.md"
    copy.write_text(stale, encoding="utf-8")
    checked = run_python("scripts/zoo_tables.py", f"--doc={copy}", "--check", timeout=120)
    assert checked.returncode == 1 and "differ from the shipped files" in checked.stdout
    rewritten = run_python("scripts/zoo_tables.py", f"--doc={copy}", timeout=120)
    assert rewritten.returncode == 0, rewritten.stderr[-2000:]
    assert copy.read_text(encoding="utf-8") == doc
