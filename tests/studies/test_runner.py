"""The study runners' shared runner: a Ctrl-C stops the study once the running runs have saved."""

import functools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO

STUDIES = os.path.join(REPO, "studies")
sys.path.insert(0, STUDIES)

# A run that takes a second to save its checkpoint on Ctrl-C, then exits as training does (130)
SAVES_ON_CTRL_C = """
import signal, sys, time
def save(signum, frame):
    time.sleep(1)
    print("checkpoint saved", flush=True)
    sys.exit(130)
signal.signal(signal.SIGINT, save)
print("training", flush=True)
time.sleep(60)
"""


def test_ctrl_c_waits_for_the_run_to_save_then_says_how_to_resume(tmp_path):
    log = tmp_path / "run.log"
    study = subprocess.Popen(
        [sys.executable, "-c", f"import runner; runner.run_logged(['-c', {SAVES_ON_CTRL_C!r}], {str(log)!r})"],
        cwd=STUDIES,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    deadline = time.time() + 30
    while not (log.exists() and "training" in log.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(study.pid, signal.SIGINT)
    _, err = study.communicate(timeout=30)
    assert "checkpoint saved" in log.read_text()  # not killed while saving
    assert study.returncode == 130
    assert "interrupted" in err and "run the same command again to resume" in err and "Traceback" not in err


def test_an_interrupted_run_starts_no_further_run():
    import runner

    started, second_running = [], threading.Event()

    def run(seed):
        started.append(seed)
        if seed == 0:
            second_running.wait(10)
            raise SystemExit(130)  # what runner.run_logged raises for an interrupted run
        second_running.set()
        time.sleep(0.5)

    with pytest.raises(SystemExit) as stopped:
        runner.run_all([functools.partial(run, seed) for seed in range(4)], jobs=2, where="study")
    assert stopped.value.code == 130
    assert started == [0, 1]  # seeds 2 and 3 wait for the next call


def test_a_resumed_runs_seconds_add_its_earlier_processes_training(tmp_path):
    import json

    import runner

    # The first process validated at 500 and 1000 (0.8 s a step) and was stopped; the second
    # resumed from the checkpoint at 900 and took 1050 s in all, 990 s of them to step 2000.
    records = [(500, 0, 400.0), (1000, 0, 800.0), (1000, 900, 90.0), (2000, 900, 990.0)]
    with open(tmp_path / "validation.jsonl", "w") as f:
        for step, began, wall in records:
            f.write(json.dumps({"step": step, "from_step": began, "wall_s": wall}) + "\n")
    assert runner.run_seconds(str(tmp_path), 1050.0) == pytest.approx(1050.0 + 0.8 * 900)
    (tmp_path / "validation.jsonl").write_text(json.dumps({"step": 2000, "from_step": 0, "wall_s": 990.0}) + "\n")
    assert runner.run_seconds(str(tmp_path), 1050.0) == pytest.approx(1050.0)  # never resumed: the process's time
    # Rerun after a failure past training: the last process (60 s) only evaluated.
    assert runner.run_seconds(str(tmp_path), 60.0) == pytest.approx(60.0 + 990.0)
    assert runner.run_seconds(str(tmp_path), None) is None  # no train_time.json


def test_milestone_keeps_finished_runs_not_checkpoints_and_restores_them(tmp_path):
    """Of a finished run's TensorBoard events only the validation scalars (val/*) are kept."""
    import tensorflow as tf

    out, record, back = tmp_path / "out", tmp_path / "record", tmp_path / "back"
    events = "c/w1/runs/adv0_seed0/tensorboard"
    kept = [
        "c/w1/settings.json",
        "c/w1/start_eval/results.json",
        "c/pilot/pilot.json",
        "x2_start/pretrain_2/generator_0.keras",
        *(f"c/w1/runs/adv0_seed0/{f}" for f in ("results.json", "train_time.json", "config.json", "validation.jsonl")),
    ]
    dropped = [
        "pretrain_2/generator_0.keras",  # the copied committed start
        "x2_start/pretrain_2/best/generator_0.keras",  # a pre-training's best generator: not its start
        "c/w1/runs/adv0_seed0/generator_0.keras",
        "c/w1/runs/adv0_seed0/checkpoints/ckpt-2000.index",
        "c/w1/runs/adv0_seed1/tensorboard/ev",  # unfinished: it resumes from its checkpoints, or restarts
        "c/w1/runs/adv0_seed1/config.json",
    ]
    for name in kept + dropped:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(name)
    with tf.summary.create_file_writer(str(out / events)).as_default():
        for step in (1, 2):
            tf.summary.scalar("pair0/g_total", 0.5, step=step)
            tf.summary.scalar("val/pair0_psnr", 20.0 + step, step=step)
            tf.summary.image("val/lr_bicubic_sr_hr", tf.zeros([1, 8, 8, 3]), step=step)

    def tags(folder):
        (path,) = folder.glob("events.*")
        return [(e.step, v.tag) for e in tf.compat.v1.train.summary_iterator(str(path)) for v in e.summary.value]

    script = os.path.join(STUDIES, "milestone.sh")
    env = {**os.environ, "PYTHON": sys.executable}
    saved = subprocess.run(["bash", script, "save", str(record), str(out)], capture_output=True, text=True, env=env)
    assert saved.returncode == 0 and "saved 1 finished runs" in saved.stdout, saved.stderr
    files = sorted(str(p.relative_to(record)) for p in record.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith(events)] == sorted(kept)
    assert tags(record / events) == [(1, "val/pair0_psnr"), (2, "val/pair0_psnr")]
    subprocess.run(["bash", script, "restore", str(record), str(back)], check=True, capture_output=True)
    assert all((back / name).read_text() == name for name in kept) and tags(back / events) == tags(record / events)
