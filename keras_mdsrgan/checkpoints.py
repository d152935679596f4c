"""Checkpoints of the whole cohort: every network, every optimizer state and the global step."""

from __future__ import annotations

import tensorflow as tf

from keras_mdsrgan.cohort import MutualSRGAN
from keras_mdsrgan.errors import TrainingError


def make_checkpoint(cohort: MutualSRGAN, step: tf.Variable) -> tf.train.Checkpoint:
    """Every network and optimizer the cohort has, by name, plus the global step."""
    objects = {"step": step}
    for prefix, items in (("generator", cohort.generators), ("discriminator", cohort.discriminators),
                          ("gen_optimizer", cohort.gen_optimizers), ("disc_optimizer", cohort.disc_optimizers),
                          ("pretrain_optimizer", cohort.pretrain_optimizers)):
        objects.update({f"{prefix}_{k}": item for k, item in enumerate(items)})
    return tf.train.Checkpoint(**objects)


def restore_latest(checkpoint: tf.train.Checkpoint, folder: str) -> str | None:
    """Restore the newest checkpoint in ``folder``; its path, or None when there is none.

    A checkpoint of other network sizes is refused in one line and left untouched.
    """
    latest = tf.train.latest_checkpoint(folder)
    if latest:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError) as err:
            raise TrainingError(f"{latest} does not fit the current settings "
                                f"({str(err).splitlines()[0][:200]}); pass --restart or another --run_dir") from None
    return latest
