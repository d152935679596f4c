"""Runs side by side or one at a time: training throughput of --jobs processes sharing the cores.

The study runners (generator_study.py --jobs) make small K = 2 runs; on a few cores a single
run leaves them partly idle (TensorFlow's per-op overhead is single-threaded). This times
the K = 2 `ml` step at Study B's sizes (flags/repro_x4.cfg networks, 48² HR patches, batch 8,
pixel + adversarial loss) in one process with every core, then in --jobs processes at once
with the cores shared out, and prints steps per second of both and their ratio.

  python benchmarks/side_by_side.py [--jobs=2] [--steps=40]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "studies"))
import runner  # noqa: E402  (studies/runner.py: the thread split its --jobs uses, measured here)

flags.DEFINE_integer("jobs", 2, "Processes side by side.", lower_bound=2)
flags.DEFINE_integer("steps", 40, "Timed steps per process (after 3 warm-up steps).", lower_bound=1)
flags.DEFINE_bool("worker", False, "Internal: time the step in this process and print its seconds.")
FLAGS = flags.FLAGS


def time_steps(steps: int) -> float:
    """Seconds of ``steps`` K = 2 `ml` steps on a fixed batch, after a warm-up."""
    from common import make_step

    step = make_step(2, "ml", "study_b")
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - started


def run_workers(jobs: int, threads: int | None) -> float:
    """Steps per second of ``jobs`` workers started together (TensorFlow pools capped at ``threads``)."""
    env = {**runner.thread_env(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, os.path.abspath(__file__), "--worker", f"--steps={FLAGS.steps}"]
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    seconds = [float(w.communicate()[0].split()[-1]) for w in workers]
    return sum(FLAGS.steps / s for s in seconds)


def main(argv):
    del argv
    if FLAGS.worker:
        print(time_steps(FLAGS.steps))
        return
    from common import machine

    threads = runner.threads_per_job(FLAGS.jobs)
    alone = run_workers(1, None)
    together = run_workers(FLAGS.jobs, threads)
    print(f"K=2 ml step at Study B sizes, {FLAGS.steps} steps per process, on {machine()}")
    print(f"  one process, {os.cpu_count()} threads:        {alone:.2f} steps/s")
    print(f"  {FLAGS.jobs} processes, {threads} thread(s) each:   {together:.2f} steps/s")
    print(f"ratio side by side / one at a time: {together / alone:.2f}")


if __name__ == "__main__":
    app.run(main)
