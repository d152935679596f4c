"""Keras's Adam against FusedAdam (keras_mdsrgan/training/fused_adam.py) on one pair's networks.

For the generator and the discriminator of a preset (common.PRESETS) and fixed random gradients:
the seconds to trace and first run one update of all their variables (what every new training
process pays), then the median ms of an update, timed round-robin so that machine noise hits
both alike, and the ratios fused / Keras.

  python benchmarks/adam_update.py                 # SRGAN sizes: 16 blocks, 64 ch, HR 96
  python benchmarks/adam_update.py --preset=tiny   # the tests' sizes, where tracing is the cost
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf
from absl import app, flags

from common import PRESETS, interleaved_medians, machine
from keras_mdsrgan.config import ModelConfig
from keras_mdsrgan.model import registry
from keras_mdsrgan.training.fused_adam import FusedAdam

flags.DEFINE_enum("preset", "srgan", sorted(PRESETS), "Network sizes.")
flags.DEFINE_integer("steps", 20, "Timed updates per optimizer (after 2 warm-up updates).")
FLAGS = flags.FLAGS


def make_update(optimizer_class, variables: list, gradients: list) -> tuple[float, callable]:
    """Seconds of the first traced update, and a callable running one more."""
    optimizer = optimizer_class(1e-4)
    optimizer.build(variables)
    step = tf.function(lambda: optimizer.apply_gradients(zip(gradients, variables)), autograph=False)

    def run():
        step()
        variables[0].numpy()  # wait for the update

    started = time.perf_counter()
    run()
    return time.perf_counter() - started, run


def main(argv):
    del argv
    blocks, filters, dfilters, dense, _, patch = PRESETS[FLAGS.preset]
    config = ModelConfig(gen_filters=filters, gen_blocks=blocks, disc_filters=dfilters, disc_dense=dense)
    networks = [
        registry.build_generator(config.gen_arch, config, 4, "generator"),
        registry.build_discriminator(config.disc_arch, config, patch, "discriminator"),
    ]
    variables = [v for net in networks for v in net.trainable_variables]
    keras.utils.set_random_seed(0)
    gradients = [keras.random.normal(v.shape) for v in variables]
    parameters = sum(int(v.numpy().size) for v in variables)
    print(f"preset {FLAGS.preset}: {len(variables)} variables, {parameters:,} parameters, on {machine()}")
    first, runs = {}, {}
    for name, optimizer_class in (("keras Adam", keras.optimizers.Adam), ("FusedAdam", FusedAdam)):
        first[name], runs[name] = make_update(optimizer_class, variables, gradients)
    medians = interleaved_medians(runs, FLAGS.steps)
    for name in runs:
        print(f"  {name:12s} first update {first[name]:6.2f} s   update {medians[name]:8.2f} ms")
    print(f"ratio first update fused / keras:  {first['FusedAdam'] / first['keras Adam']:.3f}")
    print(f"ratio update fused / keras:        {medians['FusedAdam'] / medians['keras Adam']:.3f}")


if __name__ == "__main__":
    app.run(main)
