"""Run a few `ml` steps on one device and under MirroredStrategy over 2 logical CPUs with
synchronized batch norm.

Prints one JSON line: the largest relative difference of the logged losses from the one-device
run and the largest absolute difference of any weight ("sync"), and how far a discriminator's
batch-norm output on one replica's half of the batch is from its output on the whole batch
("replica_batch_rel_diff": what per-replica batch norm would change, so what syncing must undo).
Runs in its own process because logical devices must be configured before TensorFlow starts.
"""

import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from keras_mdsrgan.model import registry  # noqa: E402
from keras_mdsrgan.training import build, distributed  # noqa: E402

CONFIG = RunConfig(
    data=DataConfig(scale=2, hr_patch=16, batch_size=4),
    model=ModelConfig(num_pairs=2, gen_filters=8, gen_blocks=1, disc_filters=4, disc_dense=16, sync_batchnorm=True),
    loss=LossConfig(mode="ml", pixel_weight=1.0, perceptual_weight=0.0),
    train=TrainConfig(seed=3),
)
rng = np.random.default_rng(0)
HR = rng.random((4, 16, 16, 3), dtype=np.float32)
LR = HR.reshape(4, 8, 2, 8, 2, 3).mean(axis=(2, 4))


def train(strategy, steps=3):
    with strategy.scope():
        cohort = build.build_cohort(CONFIG)
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((LR, HR)).repeat())
    step = distributed.step_function(strategy, cohort.train_step)
    iterator = iter(dataset)
    logs = [{k: float(v) for k, v in step(iterator).items()} for _ in range(steps)]
    weights = [w for net in cohort.generators + cohort.discriminators for w in net.get_weights()]
    return logs, weights


def differences(reference, other):
    (logs_a, weights_a), (logs_b, weights_b) = reference, other
    return {
        "loss_rel_diff": max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-3) for a, b in zip(logs_a, logs_b) for k in a),
        "weight_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(weights_a, weights_b)),
    }


def replica_batch_rel_diff() -> float:
    """A fresh discriminator in training mode on one replica's half of the batch against the same
    images inside the whole batch: batch statistics of 2 images instead of 4."""
    plain = dataclasses.replace(CONFIG.model, sync_batchnorm=False)
    keras.utils.set_random_seed(CONFIG.train.seed)
    discriminator = registry.build_discriminator(plain.disc_arch, plain, CONFIG.data.hr_patch, "plain")
    half, whole = discriminator(HR[:2], training=True), discriminator(HR, training=True)[:2]
    return float(np.max(np.abs(half - whole)) / np.max(np.abs(whole)))


single = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
print(
    json.dumps(
        {
            "replicas": mirrored.num_replicas_in_sync,
            "sync": differences(single, train(mirrored)),
            "replica_batch_rel_diff": replica_batch_rel_diff(),
        }
    )
)
