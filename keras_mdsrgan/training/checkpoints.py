"""Checkpoints of the whole cohort: every network, every optimizer state and the global step.

TensorFlow writes a checkpoint's data and index files first and its folder's ``checkpoint``
state file (the list of checkpoints) last, each by a rename, so a crash mid-write leaves the
previous checkpoint as the newest listed one. A listed checkpoint that is damaged anyway (a
truncated or deleted file) is reported and skipped: the run goes back to the newest one that
restores.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys

import tensorflow as tf

from keras_mdsrgan.errors import TrainingError
from keras_mdsrgan.training.cohort import MutualSRGAN

_NUMBER = re.compile(r"ckpt-(\d+)(?:\.|$)")


def make_checkpoint(cohort: MutualSRGAN, step: tf.Variable) -> tf.train.Checkpoint:
    """Every network and optimizer the cohort has, by name, plus the global step."""
    objects = {"step": step}
    for prefix, items in (
        ("generator", cohort.generators),
        ("discriminator", cohort.discriminators),
        ("gen_optimizer", cohort.gen_optimizers),
        ("disc_optimizer", cohort.disc_optimizers),
        ("pretrain_optimizer", cohort.pretrain_optimizers),
    ):
        objects.update({f"{prefix}_{k}": item for k, item in enumerate(items)})
    return tf.train.Checkpoint(**objects)


def listed(folder: str) -> tuple[list[str], bool]:
    """The folder's checkpoints, newest first: those its state file lists or, when that file is
    missing or unreadable, every ``ckpt-N`` with a file in the folder; and whether the state
    file gave them."""
    state = None
    if os.path.exists(os.path.join(folder, "checkpoint")):
        try:
            state = tf.train.get_checkpoint_state(folder)
        except Exception:  # noqa: BLE001 - any damage of the state file: fall back to the files
            state = None
    from_state = state is not None and bool(state.all_model_checkpoint_paths)
    if from_state:
        paths = list(state.all_model_checkpoint_paths)  # TensorFlow has joined relative ones to the folder
    else:
        names = os.listdir(folder) if os.path.isdir(folder) else []
        paths = [os.path.join(folder, f"ckpt-{m.group(1)}") for name in names if (m := _NUMBER.match(name))]
    return sorted(set(paths), key=number, reverse=True), from_state


def number(path: str) -> int:
    """N of ``.../ckpt-N``."""
    match = _NUMBER.match(os.path.basename(path))
    return int(match.group(1)) if match else -1


def files_of(path: str) -> list[str]:
    """The files of checkpoint ``path`` on disk (its index and data shards)."""
    return sorted(glob.glob(glob.escape(path) + ".*"))


def readable(path: str) -> bool:
    """Whether every tensor of checkpoint ``path`` reads back from its files."""
    try:
        reader = tf.train.load_checkpoint(path)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception:  # noqa: BLE001 - a truncated index or data file, a missing shard
        return False
    return True


def restore_latest(checkpoint: tf.train.Checkpoint, folder: str) -> str | None:
    """Restore the newest checkpoint in ``folder`` that restores; its path, or None when the
    folder holds none.

    A damaged one (a file truncated, deleted or unreadable) is reported in one line naming its
    files, and the next older one is tried; the folder's state file then lists only the good
    ones. None restoring stops the run in one line saying what to do. A checkpoint of other
    network sizes is refused in one line and left untouched.
    """
    candidates, from_state = listed(folder)
    damaged = []
    for path in candidates:
        try:
            status = checkpoint.restore(path)
        except Exception as err:  # noqa: BLE001 - TensorFlow raises many kinds for damaged files
            if readable(path):  # the files are whole: it is the settings that differ
                raise _misfit(path, err) from None
            damaged.append(path)
            names = ", ".join(os.path.basename(f) for f in files_of(path)) or "no files left"
            print(f"warning: checkpoint {path} does not restore ({_first_line(err)}; files: {names})", file=sys.stderr)
            continue
        try:
            status.assert_existing_objects_matched()
        except (AssertionError, ValueError) as err:
            raise _misfit(path, err) from None
        if damaged or not from_state:  # the state file lists the good ones again (oldest first)
            good = [os.path.basename(p) for p in candidates if p not in damaged and number(p) <= number(path)]
            tf.compat.v1.train.update_checkpoint_state(folder, os.path.basename(path), list(reversed(good)))
        if damaged:
            print(f"going back to checkpoint {os.path.basename(path)}, the newest that restores", file=sys.stderr)
        return path
    if damaged:
        raise TrainingError(
            f"no checkpoint in {folder} restores ({len(damaged)} damaged); "
            "pass --restart to start over (it deletes them) or restore the folder from a backup"
        )
    return None


def _misfit(path: str, err: BaseException) -> TrainingError:
    return TrainingError(
        f"{path} does not fit the current settings ({_first_line(err)[:200]}); pass --restart or another --run_dir"
    )


def save(manager: tf.train.CheckpointManager, step: int) -> str:
    """``manager.save`` at ``step``; a write that fails (a full disk, a read-only folder) stops the
    run in one line naming the folder and the reason, with the previous checkpoints intact and
    still the newest listed (TensorFlow updates the list only after the files are complete)."""
    try:
        return manager.save(checkpoint_number=step)
    except (OSError, tf.errors.OpError) as err:
        for leftover in glob.glob(os.path.join(glob.escape(manager.directory), f"ckpt-{step}_temp*")):
            shutil.rmtree(leftover, ignore_errors=True)
        previous = manager.latest_checkpoint
        kept = f"{os.path.basename(previous)} is intact" if previous else "no earlier checkpoint"
        raise TrainingError(
            f"cannot write checkpoint {step} in {manager.directory} ({_first_line(err)}); "
            f"{kept}; free space or fix the folder, then run the same command to resume"
        ) from None


def _first_line(err: BaseException) -> str:
    """The reason of an OSError or a TensorFlow error in one line, without TensorFlow's wrapping
    (``{{function_node ...}}`` before it, ``[Op:SaveV2]`` after it)."""
    text = getattr(err, "message", None) or getattr(err, "strerror", None) or str(err) or type(err).__name__
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", text).strip()
    return text.splitlines()[0] if text else type(err).__name__
