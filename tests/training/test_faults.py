"""What the user sees, and what is left on disk, when things go wrong: Ctrl-C / SIGTERM, two runs
on one folder, damaged checkpoints, a full disk, an interrupted upscale."""

import errno
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import REPO, TINY_RUN, run_command, run_python
from keras_mdsrgan import files, interrupts
from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
from keras_mdsrgan.errors import TrainingError
from keras_mdsrgan.training import build, checkpoints, locks

# One pair, GAN stage only, no validation: the shortest run whose checkpoints hold every kind of state.
TINY = [
    *TINY_RUN,
    "--num_pairs=1",
    "--mode=independent",
    "--checkpoint_every=5",
    "--keep_checkpoints=2",
    "--log_every=1",
    "--val_every=100000",
    "--pretrain_steps=0",
    "--gan_steps=100000",
    "--verbosity=-1",
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
INTERRUPTED = "interrupted at step {}; checkpoint saved; run the same command to resume"


def _default_sigint():  # a shell's background jobs ignore SIGINT; the child gets the default back
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(module, *args):
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def newest(run_dir) -> int:
    paths, _ = checkpoints.listed(os.path.join(run_dir, "checkpoints"))
    return checkpoints.number(paths[0]) if paths else 0


def wait_for(condition, process, timeout=240):
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def stored_step(path) -> int:
    return int(tf.train.load_checkpoint(path).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))


# --------------------------------------------------------------------------- signals


def test_ctrl_c_and_sigterm_save_the_last_step_say_so_in_one_line_and_the_rerun_resumes(tmp_path):
    """Also one run per folder: while the run trains, a second on its folder is refused. Ctrl-C
    stops the run (130), the rerun resumes after its step, and SIGTERM stops the rerun (143) at a
    step that is not a multiple of --checkpoint_every."""
    run_dir = str(tmp_path / "run")
    process = start("keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}")
    wait_for(lambda: newest(run_dir) >= 5, process)
    second = run_python("-m", "keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}", env=ENV, timeout=120)
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"error: {run_dir} is in use by another run (process {process.pid}); wait for it to end or pass another "
        "--run_dir"
    )
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    step = int(line.split("interrupted at step ")[1].split(";")[0])
    assert line == INTERRUPTED.format(step)
    assert newest(run_dir) == step and stored_step(os.path.join(run_dir, "checkpoints", f"ckpt-{step}")) == step

    events = tmp_path / "run" / "tensorboard"
    before = set(events.glob("events.*"))
    rerun = start("keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}", "--checkpoint_every=1000", "--verbosity=0")
    wait_for(lambda: any(p.stat().st_size > 2000 for p in set(events.glob("events.*")) - before), rerun)
    rerun.send_signal(signal.SIGTERM)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 143 and "Traceback" not in err
    assert f"resuming after step {step}" in out
    resumed = newest(run_dir)
    assert resumed > step and resumed % 1000 and err.strip().splitlines()[-1] == INTERRUPTED.format(resumed)


def test_a_second_ctrl_c_stops_at_once_without_a_traceback(tmp_path):
    run_dir = str(tmp_path / "run")
    process = start("keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}", "--checkpoint_every=1")
    wait_for(lambda: newest(run_dir) >= 2, process)  # inside the loop
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] in ("SIGINT again: stopped at once", INTERRUPTED.format(newest(run_dir)))


def test_ctrl_c_before_training_starts_is_one_line(tmp_path):
    process = start("keras_mdsrgan.train", *TINY, f"--run_dir={tmp_path / 'run'}")
    wait_for(lambda: os.path.exists(tmp_path / "run" / "config.json"), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted")  # before the loop, or inside it if it started meanwhile


# --------------------------------------------------------------------------- one run per folder


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    """The lock is the operating system's, not the file's: SIGKILL of its holder (a process that
    takes it as train does first, then waits) frees the folder though the file stays."""
    run_dir = str(tmp_path / "run")
    code = f"import time; from keras_mdsrgan.training import locks; locks.hold({run_dir!r}); print(1, flush=True)"
    code += "; time.sleep(600)"
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "1"
        with pytest.raises(locks.BusyError, match=f"in use by another run \\(process {holder.pid}\\)"):
            locks.hold(run_dir)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert open(os.path.join(run_dir, ".lock")).read() == str(holder.pid)  # the file stays, the lock does not
    locks.hold(run_dir)  # as the next train would
    try:
        assert open(os.path.join(run_dir, ".lock")).read() == str(os.getpid())
    finally:
        locks.release(run_dir)


# --------------------------------------------------------------------------- damaged checkpoints

TINY_CONFIG = RunConfig(
    data=DataConfig(scale=2, hr_patch=16, batch_size=2),
    model=ModelConfig(num_pairs=1, gen_filters=4, gen_blocks=1),
    loss=LossConfig(mode="independent", perceptual_weight=0.0, pixel_weight=1.0),
    train=TrainConfig(pretrain_steps=10, gan_steps=0),
)


@pytest.fixture(scope="module")
def three_checkpoints(tmp_path_factory):
    """A folder with checkpoints 1, 2 and 3 of a tiny cohort (each step's weights differ)."""
    folder = str(tmp_path_factory.mktemp("ckpts") / "checkpoints")
    cohort = build.build_cohort(TINY_CONFIG)
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(checkpoints.make_checkpoint(cohort, step), folder, max_to_keep=3)
    for n in (1, 2, 3):
        step.assign(n)
        cohort.generators[0].layers[1].kernel.assign_add(tf.ones_like(cohort.generators[0].layers[1].kernel))
        checkpoints.save(manager, n)
    return folder


def restore_copy(source, target):
    shutil.copytree(source, target)
    step = tf.Variable(0, dtype=tf.int64)
    path = checkpoints.restore_latest(checkpoints.make_checkpoint(build.build_cohort(TINY_CONFIG), step), target)
    return path, int(step)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
@pytest.mark.parametrize("part", ["index", "data-00000-of-00001"])
def test_a_damaged_newest_checkpoint_is_named_and_the_run_goes_back_one(
    three_checkpoints, tmp_path, capsys, damage, part
):
    source, target = tmp_path / "damaged", str(tmp_path / "checkpoints")
    shutil.copytree(three_checkpoints, source)
    victim = source / f"ckpt-3.{part}"
    os.truncate(victim, 10) if damage == "truncate" else os.remove(victim)
    path, step = restore_copy(str(source), target)
    assert (os.path.basename(path), step) == ("ckpt-2", 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"warning: checkpoint {target}/ckpt-3 does not restore (")
    assert err[0].endswith(
        "ckpt-3.data-00000-of-00001, ckpt-3.index)"
        if damage == "truncate"
        else f"ckpt-3.{'index' if part != 'index' else 'data-00000-of-00001'})"
    )
    assert err[1] == "going back to checkpoint ckpt-2, the newest that restores"
    # The folder's list no longer has the damaged one, so the next save follows ckpt-2.
    assert [os.path.basename(p) for p in checkpoints.listed(target)[0]] == ["ckpt-2", "ckpt-1"]


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage"])
def test_a_damaged_list_of_checkpoints_falls_back_to_the_files(three_checkpoints, tmp_path, damage):
    source = tmp_path / "c"
    shutil.copytree(three_checkpoints, source)
    state = source / "checkpoint"
    {
        "truncate": lambda: os.truncate(state, 20),
        "delete": lambda: os.remove(state),
        "garbage": lambda: state.write_bytes(b"\x00\x01{{ not a checkpoint state"),
    }[damage]()
    path, step = restore_copy(str(source), str(tmp_path / "restored"))
    assert (os.path.basename(path), step) == ("ckpt-3", 3)
    assert [os.path.basename(p) for p in checkpoints.listed(str(tmp_path / "restored"))[0]] == [
        "ckpt-3",
        "ckpt-2",
        "ckpt-1",
    ]


def test_no_checkpoint_restoring_says_what_to_do(three_checkpoints, tmp_path):
    source = tmp_path / "c"
    shutil.copytree(three_checkpoints, source)
    for n in (1, 2, 3):
        os.truncate(source / f"ckpt-{n}.index", 5)
    with pytest.raises(TrainingError, match=r"no checkpoint in .* restores \(3 damaged\); pass --restart"):
        restore_copy(str(source), str(tmp_path / "restored"))


# --------------------------------------------------------------------------- a full disk


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_previous_one_stays(
    three_checkpoints, tmp_path, monkeypatch, code
):
    target = str(tmp_path / "checkpoints")
    shutil.copytree(three_checkpoints, target)
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = checkpoints.make_checkpoint(build.build_cohort(TINY_CONFIG), step)
    checkpoints.restore_latest(checkpoint, target)
    manager = tf.train.CheckpointManager(checkpoint, target, max_to_keep=3)

    def full_disk(*args, **kwargs):
        os.makedirs(os.path.join(target, "ckpt-4_temp"))  # what a half-done save leaves
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tf.train.Checkpoint, "_write", full_disk)  # what CheckpointManager.save calls
    with pytest.raises(TrainingError) as raised:
        checkpoints.save(manager, 4)
    assert str(raised.value) == (
        f"cannot write checkpoint 4 in {target} ({os.strerror(code)}); ckpt-3 is "
        "intact; free space or fix the folder, then run the same command to resume"
    )
    assert sorted(os.listdir(target)) == sorted(os.listdir(three_checkpoints))
    monkeypatch.undo()
    assert stored_step(checkpoints.restore_latest(checkpoint, target)) == 3


def _small_file_system(path):
    """A 3 MB tmpfs at ``path`` (root on Linux), or a skip naming why not."""
    os.makedirs(path)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(path)], capture_output=True)
    if result.returncode:
        pytest.skip(
            f"cannot mount a small tmpfs here ({result.stderr.decode().strip()[:100]}); the injected-error "
            "test covers the message"
        )


def test_training_on_a_full_disk_stops_in_one_line_with_a_checkpoint_that_restores(tmp_path):
    """While the run trains, a filler file takes the rest of a 3 MB tmpfs. (A read-only remount
    is refused while the run has files open; the injected-error test covers EROFS.)"""
    disk = tmp_path / "disk"
    _small_file_system(disk)
    run_dir = str(disk / "run")
    process = start("keras_mdsrgan.train", *TINY, f"--run_dir={run_dir}", "--checkpoint_every=1")
    try:
        wait_for(lambda: newest(run_dir) >= 3, process)
        with open(disk / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as err:
                assert err.errno == errno.ENOSPC
        _, err = process.communicate(timeout=300)
        assert process.returncode == 2 and "Traceback" not in err, err[-2000:]
        line = err.strip().splitlines()[-1]
        assert line.startswith("error: cannot write") and line.count("No space left on device") == 1, err[-2000:]
        assert run_dir in line and "{{" not in line
        os.remove(disk / "filler")
        kept = checkpoints.listed(os.path.join(run_dir, "checkpoints"))[0]
        assert len(kept) == 2 and stored_step(kept[0]) == checkpoints.number(kept[0]) >= 3  # still restores
        assert not [n for n in os.listdir(os.path.join(run_dir, "checkpoints")) if "_temp" in n]
        assert not [p for p in glob.glob(f"{run_dir}/**/.mdsrgan-tmp-*", recursive=True)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        subprocess.run(["umount", str(disk)], check=False)


# --------------------------------------------------------------------------- upscale


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    from keras_mdsrgan.model.generators import build_srresnet

    path = str(tmp_path_factory.mktemp("gen") / "g.keras")
    build_srresnet(2, filters=8, num_blocks=3).save(path)
    return path


def test_upscale_rerun_removes_what_a_killed_run_left_and_skips_finished_outputs(generator_file, tmp_path):
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(source / f"{name}.png")
    dead = run_python("-c", "import os; print(os.getpid())")
    output.mkdir()
    (output / f".mdsrgan-tmp-{dead.stdout.strip()}-x1y2.png").write_bytes(b"half an image")  # a SIGKILLed write
    (output / f".mdsrgan-tmp-{os.getpid()}-live.png").write_bytes(b"a live process's")
    Image.fromarray(np.zeros((80, 80, 3), np.uint8)).save(output / "a.png")  # finished before the kill
    result = run_python(
        "-m",
        "keras_mdsrgan.upscale",
        f"--model={generator_file}",
        f"--input={source}",
        f"--output={output}",
        "--skip_existing",
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "removed 1 temporary file(s) an interrupted run left" in result.stdout
    assert "skipping 1 image(s) whose output exists" in result.stdout
    assert sorted(os.listdir(output)) == sorted([f".mdsrgan-tmp-{os.getpid()}-live.png", "a.png", "b.png", "c.png"])
    assert not np.asarray(Image.open(output / "a.png")).any()  # skipped, not redone
    assert np.asarray(Image.open(output / "b.png")).shape == (80, 80, 3)


def test_upscale_killed_mid_folder_leaves_only_complete_images_or_temporaries(generator_file, tmp_path):
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    rng = np.random.default_rng(1)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)).save(source / f"{i:02d}.png")
    process = start("keras_mdsrgan.upscale", f"--model={generator_file}", f"--input={source}", f"--output={output}")
    wait_for(
        lambda: output.is_dir() and any(n.endswith(".png") and not n.startswith(".") for n in os.listdir(output)),
        process,
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    for name in os.listdir(output):
        if not files.TEMPORARY.match(name):
            assert np.asarray(Image.open(output / name)).shape == (240, 240, 3)  # complete under its final name
    rerun = run_python(
        "-m",
        "keras_mdsrgan.upscale",
        f"--model={generator_file}",
        f"--input={source}",
        f"--output={output}",
        "--skip_existing",
        env=ENV,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert sorted(os.listdir(output)) == [f"{i:02d}.png" for i in range(40)]


def test_upscale_interrupted_is_one_line(generator_file, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    rng = np.random.default_rng(2)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)).save(source / f"{i:02d}.png")
    output = tmp_path / "out"
    process = start("keras_mdsrgan.upscale", f"--model={generator_file}", f"--input={source}", f"--output={output}")
    wait_for(lambda: output.is_dir() and any(not n.startswith(".") for n in os.listdir(output)), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "interrupted; outputs finished before it are complete, none is half-written"
    )
    assert not [n for n in os.listdir(output) if n.startswith(".")]


def test_a_run_folder_given_by_a_relative_path_resumes(three_checkpoints, tmp_path, monkeypatch):
    """TensorFlow's list holds paths relative to the folder, which may itself be relative."""
    shutil.copytree(three_checkpoints, tmp_path / "run" / "checkpoints")
    monkeypatch.chdir(tmp_path)
    step = tf.Variable(0, dtype=tf.int64)
    path = checkpoints.restore_latest(
        checkpoints.make_checkpoint(build.build_cohort(TINY_CONFIG), step), os.path.join("run", "checkpoints")
    )
    assert (path, int(step)) == (os.path.join("run", "checkpoints", "ckpt-3"), 3)


def _tensorflow_loaded(pid) -> bool:
    """Whether the process has loaded TensorFlow's library (which the commands import in ``main``)."""
    try:
        return "libtensorflow" in open(f"/proc/{pid}/maps").read()
    except OSError:
        return False


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_evaluate_and_export_interrupted_are_one_line_with_no_partial_output(generator_file, tmp_path, command):
    out = tmp_path / "out"
    args = {
        "evaluate": [
            "keras_mdsrgan.evaluate",
            "--scale=2",
            "--datasets=val=sample:val",
            f"--models={generator_file}",
            "--save_images",
            f"--out={out}",
        ],
        "export": [
            "keras_mdsrgan.export",
            f"--model={generator_file}",
            f"--out={out}",
            "--formats=saved_model,tflite_fp32,tflite_int8",
        ],
    }[command]
    process = start(*args)
    wait_for(lambda: _tensorflow_loaded(process.pid), process)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert err.strip().splitlines()[-1] in (
        f"interrupted; {interrupts.OUTPUTS_KEPT}",
        f"interrupted while starting; {interrupts.OUTPUTS_KEPT}",
    )
    left = (
        [os.path.relpath(os.path.join(root, name), out) for root, dirs, names in os.walk(out) for name in dirs + names]
        if out.exists()
        else []
    )
    assert not [name for name in left if files.TEMPORARY.match(os.path.basename(name))]
    assert "results.json" not in left and "manifest.json" not in left  # written last, after everything


def test_a_result_that_cannot_be_written_is_one_line_naming_it(tmp_path, capfd):
    """The end of a run (models, results) on a path it cannot write: here results.json is a folder."""
    run_dir = tmp_path / "run"
    (run_dir / "results.json").mkdir(parents=True)
    result = run_command(capfd, "train", *TINY, f"--run_dir={run_dir}", "--gan_steps=2")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot write {run_dir / 'results.json'} (Is a directory); the checkpoints are intact: free space "
        "or fix the folder, then run the same command"
    )
    assert newest(str(run_dir)) == 2 and (run_dir / "generator_0.keras").is_file()
