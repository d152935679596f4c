"""The benchmark scripts still run (on tiny sizes): a lent GPU must find them working."""

import os

from conftest import REPO, run_python


def test_gpu_check_runs_on_a_tiny_preset():
    result = run_python(
        "gpu_check.py",
        "--preset=tiny",
        "--steps=1",
        "--pipeline_seconds=0.5",
        cwd=os.path.join(REPO, "benchmarks"),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "cores" in lines[0] and "no GPU" in lines[0]  # the machine is named
    for name in ("single fp32", "single mixed", "single jit", "K=2 ml fp32"):
        assert any(line.strip().startswith(name) and "ms/step" in line for line in lines), name
    ratios = {line.split(":")[0]: float(line.split(":")[1].split()[0]) for line in lines if line.startswith("ratio")}
    assert set(ratios) == {"ratio mixed / fp32", "ratio jit / fp32", "ratio K=2 ml / (2 x single fp32)"}
    assert all(value > 0 for value in ratios.values())
    assert "input pipeline headroom" in lines[-1]


def test_train_step_prints_each_ratio_and_the_extra_work_balance():
    result = run_python(
        "train_step.py",
        "--preset=tiny",
        "--steps=1",
        cwd=os.path.join(REPO, "benchmarks"),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "cores" in lines[0]  # the machine is named
    times = {line[:24].strip(): float(line[24:].split()[0]) for line in lines[1:] if line.endswith(" ms")}
    assert set(times) == {"reference", "single pair", "K=2 independent", "K=2 ml", "one more D pass", "VGG of HR"}
    balance = next(line for line in lines if "by these parts alone" in line)
    expected = 1 + (2 * times["one more D pass"] - times["VGG of HR"]) / (2 * times["single pair"])
    assert abs(float(balance.split(":")[1].split()[0]) - expected) < 0.01
    assert sum(line.startswith("ratio") for line in lines) == 4
