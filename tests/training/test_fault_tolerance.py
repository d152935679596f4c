"""A finished tiny run's outputs and its resume, exact resume after SIGKILL, NaN guard, TensorBoard tags."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_mdsrgan.model.layers  # noqa: F401  (registers PixelShuffle for loading)
from conftest import REPO, TINY_RUN, run_command

TINY = [
    *TINY_RUN,
    "--num_pairs=2",
    "--checkpoint_every=1",
    "--keep_checkpoints=2",
    "--log_every=1",
    "--val_every=5",
    "--pretrain_steps=4",
    "--gan_steps=8",
    "--lr_decay_steps=2",
    "--verbosity=-1",
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def start(run_dir, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}", *extra],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def saved_steps(run_dir):
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def final_weights(run_dir):
    return [
        w
        for k in range(2)
        for w in keras.saving.load_model(os.path.join(run_dir, f"generator_{k}.keras"), compile=False).get_weights()
    ]


MA_MODEL = os.path.join(REPO, "tests", "reference", "ma_test_model.mat")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted run with a Ma model (PI scored), shared by the tests below: its outputs
    are checked, a copy of it resumes, and the killed runs must end bit-identical to it (the Ma
    model scores, it does not train). Returns the run folder and what the run printed."""
    run_dir = tmp_path_factory.mktemp("reference")
    process = start(run_dir, f"--ma_model={MA_MODEL}")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    return run_dir, out


def test_a_finished_run_holds_everything_and_resumes(reference_run, tmp_path, capfd):
    reference, printed = reference_run
    for name in ("config.json", "flags.cfg", "generator_0.keras", "generator_1.keras", "results.json", "results.md"):
        assert (reference / name).is_file(), name
    assert sorted(os.listdir(reference / "samples")) == [
        "chelsea_bicubic.png",
        "chelsea_pair0.png",
        "chelsea_pair1.png",
        "chelsea_side_by_side.png",
    ]
    results = json.loads((reference / "results.json").read_text())
    assert results["scale"] == 2
    table = results["results"]["val"]
    assert set(table) == {"bicubic", "pair0", "pair1"}
    for scores in table.values():
        assert scores["n_images"] == 1 and 5 < scores["psnr"] < 60 and 0 < scores["ssim"] <= 1
        assert scores["pi"] == pytest.approx(((10 - scores["ma"]) + scores["niqe"]) / 2)  # --ma_model
    assert results["pi_note"] is None
    assert "| val |" in printed
    saved_flags = (reference / "flags.cfg").read_text()
    assert "--gen_filters=4" in saved_flags and "restart" not in saved_flags

    run_dir = shutil.copytree(reference, tmp_path / "run")  # the reference stays as it ended
    # The same command with a longer schedule resumes from the saved step 12.
    result = run_command(capfd, "train", *TINY, "--gan_steps=10", "--verbosity=0", f"--run_dir={run_dir}")
    assert result.returncode == 0 and "resuming after step 12" in result.stdout
    assert "ckpt-14.index" in os.listdir(run_dir / "checkpoints")

    # Different network sizes cannot resume from these checkpoints: a clear error, nothing lost.
    result = run_command(capfd, "train", *TINY, "--gen_filters=8", "--gan_steps=12", f"--run_dir={run_dir}")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "does not fit the current settings" in errors[0]
    assert "ckpt-14.index" in os.listdir(run_dir / "checkpoints")

    # --restart starts from step 0 again.
    result = run_command(
        capfd, "train", *TINY, "--pretrain_steps=2", "--gan_steps=0", f"--run_dir={run_dir}", "--restart"
    )
    assert result.returncode == 0
    assert sorted(n for n in os.listdir(run_dir / "checkpoints") if n.endswith(".index")) == [
        "ckpt-1.index",
        "ckpt-2.index",
    ]


def test_sigkill_while_checkpointing_then_resume_matches_uninterrupted(tmp_path, reference_run):
    """Killed twice inside the GAN stage (steps 5-12), after the discriminators have been updated
    and past the GAN learning-rate decay (GAN step 2, global step 6): the resumed run must end
    bit-identical, so every network, optimizer state and schedule position is in the checkpoint,
    and the same seeds reproduce a run in another process."""
    run_dir = str(tmp_path / "killed")
    kills = 0
    for target, delay in ((8, 0.0), (10, 0.1)):  # kill at different moments of the checkpoint cycle
        process = start(run_dir)
        deadline = time.time() + 240
        while saved_steps(run_dir) < target and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        # Whatever the moment of the kill, the newest checkpoint restores completely.
        latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        assert latest and tf.train.load_checkpoint(latest).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == saved_steps(
            run_dir
        )
    assert kills >= 2

    resumed_from = saved_steps(run_dir)
    final = start(run_dir, "--verbosity=0")  # show the progress lines
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-2000:]
    assert 10 <= resumed_from < 12 and f"resuming after step {resumed_from}" in out
    assert saved_steps(run_dir) == 12
    assert not glob.glob(os.path.join(run_dir, "**", ".mdsrgan-tmp-*"), recursive=True)
    for a, b in zip(final_weights(reference_run[0]), final_weights(run_dir)):
        np.testing.assert_array_equal(a, b)  # same data order and state: bit-identical


def test_tensorboard_has_the_promised_tags(reference_run):
    tags = set()
    for path in glob.glob(str(reference_run[0] / "tensorboard" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    for pair in ("pair0", "pair1"):
        for term in (
            "g_pixel",
            "g_adversarial",
            "g_total",
            "d_adversarial",
            "d_distill_kl",
            "d_total",
            "d_real_prob",
            "d_fake_prob",
        ):
            assert f"{pair}/{term}" in tags
        assert {
            f"val/{pair}_psnr",
            f"val/{pair}_ssim",
            f"val/{pair}_niqe",
            f"val/{pair}_d_auc",
            f"val/{pair}_pi",  # --ma_model: PI at every validation too
        } <= tags
    assert {"pair0/pretrain_mse", "lr/pretrain", "lr/generator", "lr/discriminator", "val/lr_bicubic_sr_hr"} <= tags


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, capfd):
    """A learning rate of 1e30 blows the losses up: the run stops naming the term."""
    run_dir = tmp_path / "nan"
    result = run_command(capfd, "train", *TINY, f"--run_dir={run_dir}", "--pretrain_lr=1e30")
    assert result.returncode == 2
    assert "non-finite pretrain_mse of pair0" in result.stderr and "Traceback" not in result.stderr
    stopped_at = int(result.stderr.split(" at step ")[1].split()[0])
    assert saved_steps(run_dir) == stopped_at - 1
