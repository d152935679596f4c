"""Shared by the study runners (reproduce.py, study.py, generator_study.py): run a command of this
repository logged and timed, and find the Ma et al. model. No TensorFlow here, but for
``run_seconds`` (called once runs have finished)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import stats  # noqa: E402
from keras_mdsrgan import files  # noqa: E402
from keras_mdsrgan.errors import UserError  # noqa: E402

# How a run stopped by Ctrl-C or SIGTERM exits: it saved a checkpoint first (keras_mdsrgan.interrupts)
INTERRUPTED = {128 + signal.SIGINT, 128 + signal.SIGTERM, -signal.SIGINT, -signal.SIGTERM}


def read_study(folder: str) -> dict:
    """A generator or discriminator study's study.json; a ``UserError`` naming what to run first
    when there is none."""
    path = os.path.join(folder, "study.json")
    if not os.path.exists(path):
        raise UserError(f"{path}: missing; run the study for {folder} first")
    with open(path) as f:
        return json.load(f)


def run_seconds(folder: str, last_process: float | None) -> float | None:
    """A finished run's wall seconds across resumes: ``last_process`` (its train_time.json's
    seconds, start-up and final evaluation included) plus the training seconds of the processes
    before it, from the validation records (``training_seconds``). A lower bound: the earlier
    processes' start-up and the steps they replayed are not counted, nor a process that never
    validated. A last process shorter than the newest records' own seconds did not write them (it
    only evaluated, e.g. rerun after a failure past training): then every record counts as
    earlier. Without records, ``last_process`` alone."""
    from keras_mdsrgan.training.validation import read_history, training_seconds  # TensorFlow: only here

    history = read_history(folder)
    trained = training_seconds(history)
    if last_process is None or trained is None:
        return last_process
    began = max(r["from_step"] for r in history)
    newest = max(r["wall_s"] for r in history if r["from_step"] == began)
    if last_process < newest:  # the newest records are an earlier process's
        return last_process + trained
    if all(r["from_step"] == began for r in history):  # one process wrote them all
        return last_process
    return last_process + trained - newest


def run_logged(args: list[str], log_path: str, timing_path: str | None = None, threads: int | None = None) -> None:
    """``python ARGS`` in the repository root, its output appended to ``log_path``; the runner stops
    on failure, and on Ctrl-C once the run has saved its checkpoint (exit status 130). Once it
    succeeds, the wall time and command go to ``timing_path`` (for a resumed run: the time of the
    invocation that finished it). ``threads`` caps TensorFlow's thread pools (for runs made side by
    side)."""
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    print("$ " + " ".join(args) + "\n", end="", flush=True)  # one write: runs side by side print whole lines
    started = time.time()
    with open(log_path, "a") as log:
        child = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=thread_env(threads), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            code = child.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the whole process group: let the run save and exit
            code = child.wait()
    if code in INTERRUPTED:
        raise interrupted(log_path)
    if code:
        sys.exit(f"failed with exit code {code}; see {log_path}")
    seconds = time.time() - started
    print(f"  {seconds:.0f} s, log {log_path}\n", end="", flush=True)
    if timing_path:
        files.write_json(timing_path, {"seconds": seconds, "command": " ".join(args), "threads": threads})


def run_all(tasks: list[Callable[[], None]], jobs: int, where: str) -> None:
    """Call ``tasks`` in order, ``jobs`` at a time. A failed or interrupted task stops the rest: the
    ones not yet started wait for the study's next call; Ctrl-C exits as ``interrupted(where)``."""
    stop = threading.Event()

    def unless_stopped(task: Callable[[], None]) -> None:
        if stop.is_set():
            return
        try:
            task()
        except BaseException:
            stop.set()  # before this worker takes the next task
            raise

    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(unless_stopped, task) for task in tasks]
        try:
            for future in futures:
                future.result()  # a failed task's exit or exception stops the study
        except BaseException as err:
            stop.set()
            pool.shutdown(cancel_futures=True)  # the running ones got Ctrl-C too: they save and exit
            if isinstance(err, KeyboardInterrupt):
                raise interrupted(where) from None
            raise


def interrupted(where: str) -> SystemExit:
    """Exit status 130 after one line saying that the same command resumes."""
    print(f"interrupted ({where}); run the same command again to resume", file=sys.stderr, flush=True)
    return SystemExit(128 + signal.SIGINT)


def threads_per_job(jobs: int) -> int | None:
    """TensorFlow threads for each of ``jobs`` processes sharing this machine's cores (None: one job, no cap)."""
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None


def thread_env(threads: int | None) -> dict[str, str]:
    """This process's environment, with TensorFlow's thread pools capped at ``threads`` when given."""
    cap = {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)} if threads else {}
    return dict(os.environ, **cap)


def check_settings(out: str, now: dict) -> None:
    """Store a study's settings in OUT/settings.json at its first run; refuse, naming the flags,
    to mix runs made with other settings into OUT later."""
    path = os.path.join(out, "settings.json")
    if not os.path.exists(path):
        files.write_json(path, now)
        return
    with open(path) as f:
        before = json.load(f)
    if changed := sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k)):
        raise UserError(f"{out} holds runs made with other --{', --'.join(changed)}; use another --out")


def ma_model_flags(metrics_dir: str) -> list[str]:
    """``--ma_model`` for the Ma et al. model when ``metrics_dir`` has one (PI), else nothing."""
    found = [p for p in (os.path.join(metrics_dir, n) for n in ("model.mat", "NRQM_model.mat")) if os.path.isfile(p)]
    return [f"--ma_model={found[0]}"] if found else []


def add_holm(rows: list[dict]) -> None:
    """Give each row (a ``stats.paired_comparison`` with its ``p``) ``p_holm``, Holm-adjusted over ``rows``."""
    for row, adjusted in zip(rows, stats.holm([r["p"] for r in rows])):
        row["p_holm"] = adjusted


def cannot_differ(comparison: str, metric: str, x: list, y: list, seen: dict) -> str | None:
    """Why a row has no place in a test family, or None: every paired difference exactly 0 (an
    arm that trains exactly as the other), or the same differences as an earlier row of the
    metric (control − adv0 copies independent − adv0). ``seen`` collects the rows kept."""
    differences = tuple(a - b for a, b in zip(x, y))
    if not any(differences):
        return "every difference exactly 0"
    if (metric, differences) in seen:
        return f"the same differences as {seen[metric, differences]}"
    seen[metric, differences] = comparison
    return None


def left_out_lines(left_out: list[dict]) -> list[str]:
    """One sentence per comparison left out of a family, its metrics and reason."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in left_out:
        grouped.setdefault((row["comparison"], row["reason"]), []).append(row["metric"])
    return [f"Left out of the family (they cannot differ): {c} ({', '.join(m)}: {r})." for (c, r), m in grouped.items()]


def difference_cells(row: dict) -> str:
    """A paired comparison (``stats.paired_comparison``, with ``p_holm`` where corrected) as the
    Markdown cells "mean [95 % CI] | d_z | p | p_Holm"."""
    holm = f"{row['p_holm']:.3g}" if "p_holm" in row else ""
    return (
        f"{row['mean_diff']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}] | {row['cohens_dz']:+.2f} | "
        f"{row['p']:.3g} | {holm}"
    )
