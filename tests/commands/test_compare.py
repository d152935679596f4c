import json
import os

import pytest
from absl.testing import flagsaver

from conftest import run_python
from keras_mdsrgan import compare
from keras_mdsrgan.errors import UserError


def write(folder, psnrs, niqes, pi=None):
    os.makedirs(folder, exist_ok=True)
    results = {"Set5": {"bicubic": {"psnr": 20.0, "ssim": 0.5, "niqe": 9.0, "pi": pi, "n_images": 5}}}
    for k, (p, n) in enumerate(zip(psnrs, niqes)):
        results["Set5"][f"pair{k}"] = {"psnr": p, "ssim": 0.8, "niqe": n, "pi": pi, "n_images": 5}
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump({"scale": 4, "results": results}, f)
    return str(folder)


def test_paper_table_pools_pairs_and_seeds(tmp_path):
    a0 = write(tmp_path / "a0", [26.0, 27.0], [3.0, 3.2])
    a1 = write(tmp_path / "a1", [28.0, 27.0], [3.4, 3.4])
    b = write(tmp_path / "b", [30.0], [2.0])
    result = run_python("-m", "keras_mdsrgan.compare", f"{a0},{a1}", b, "--labels=Independent,ML", timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "| metric | dataset | Independent | ML |"
    assert "| PSNR (dB) | Set5 | 27.000 ± 0.816 | 30.000 |" in lines
    assert "| NIQE (PI unavailable) | Set5 | 3.250 ± 0.191 | 2.000 |" in lines


def test_pi_block_when_available(tmp_path):
    table = compare.paper_table({"ML": [compare.load_results(write(tmp_path / "x", [27.0], [3.0], pi=3.1))]})
    assert "| PI | Set5 | 3.100 |" in table


def test_missing_results_is_one_line(tmp_path):
    result = run_python("-m", "keras_mdsrgan.compare", str(tmp_path / "nope"), timeout=60)
    assert result.returncode == 2 and "no results.json" in result.stderr and "Traceback" not in result.stderr


def test_main_reports_user_errors_and_lets_bugs_through(tmp_path, monkeypatch, capsys):
    """Any UserError is one ``error:`` line with status 2; anything else is a bug and propagates."""
    run = write(tmp_path / "a", [27.0], [3.0])

    def failing_table(error):
        def table(methods):
            raise error

        return table

    with flagsaver.as_parsed(labels="ML"):
        monkeypatch.setattr(compare, "paper_table", failing_table(UserError("x.json: unusable")))
        assert compare.main(["compare", run]) == 2
        assert capsys.readouterr().err == "error: x.json: unusable\n"
        monkeypatch.setattr(compare, "paper_table", failing_table(ValueError("a bug")))
        with pytest.raises(ValueError, match="a bug"):
            compare.main(["compare", run])
