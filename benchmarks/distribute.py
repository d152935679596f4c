"""One device vs MirroredStrategy over 2 logical CPUs, same global batch, side by side.

On this CPU-only machine both share the same 2 cores, so the ratio is a sanity check of the
distributed step's overhead, not a scaling figure. On a multi-GPU machine run it with
--devices=gpu to compare one GPU with all visible GPUs at the same global batch.

  python benchmarks/distribute.py [--preset=small|srgan] [--devices=cpu|gpu]
"""

from __future__ import annotations

import os

import tensorflow as tf
from absl import app, flags

import common  # puts the repository on sys.path, quiets TensorFlow

flags.DEFINE_enum("preset", "small", sorted(common.PRESETS), "Network and batch sizes.")
flags.DEFINE_enum("devices", "cpu", ["cpu", "gpu"], "cpu: 2 logical CPUs; gpu: every visible GPU.")
flags.DEFINE_integer("steps", 10, "Timed steps per strategy (after 2 warm-up steps).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if FLAGS.devices == "cpu":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
    from keras_mdsrgan.training import build, distributed

    blocks, filters, dfilters, dense, batch, patch = common.PRESETS[FLAGS.preset]
    config = RunConfig(
        data=DataConfig(scale=4, hr_patch=patch, batch_size=batch),
        model=ModelConfig(
            gen_filters=filters, gen_blocks=blocks, disc_filters=dfilters, disc_dense=dense, sync_batchnorm=True
        ),
        loss=LossConfig(mode="ml", vgg_weights="random"),
        train=TrainConfig(),
    )
    lr = tf.random.uniform([batch, patch // 4, patch // 4, 3], seed=1)
    hr = tf.random.uniform([batch, patch, patch, 3], seed=2)
    steps = {}
    for name, strategy in (
        ("one device", tf.distribute.OneDeviceStrategy(devices[0])),
        (f"mirrored x{len(devices)}", tf.distribute.MirroredStrategy(devices)),
    ):
        with strategy.scope():
            cohort = build.build_cohort(config)
        iterator = iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((lr, hr)).repeat()))
        step = distributed.step_function(strategy, cohort.train_step)
        steps[name] = lambda step=step, iterator=iterator: float(next(iter(step(iterator).values())))
    medians = common.interleaved_medians(steps, FLAGS.steps)
    print(f"preset {FLAGS.preset}, K=2 ml, global batch {batch}, {os.cpu_count()} CPU cores, devices {devices}")
    for name, ms in medians.items():
        print(f"  {name:14s} {ms:9.1f} ms/step")
    one, mirrored = medians.values()
    print(f"ratio mirrored / one device: {mirrored / one:.2f}")


if __name__ == "__main__":
    app.run(main)
