"""Does the input pipeline keep up? Patches/s it produces vs patches/s training consumes.

Both are measured in this one run at the same sizes: the tf.data training pipeline (crop,
augment, batch, prefetch, from decoded images) is drained for a while, then the K=2 `ml`
training step is timed. Prints the ratio; the target is >= 5 so training never waits.

  python benchmarks/input_pipeline.py [--preset=srgan|small] [--train=DIR,...]
"""

from __future__ import annotations

import statistics
import time

from absl import app, flags

from common import PRESETS, machine, make_step, patches_per_second
from keras_mdsrgan.data import pipelines

flags.DEFINE_enum("preset", "srgan", sorted(PRESETS), "Network and batch sizes.")
flags.DEFINE_list("train", ["sample:train"], "Training sets, as for the train command.")
flags.DEFINE_float("seconds", 10.0, "How long to drain the pipeline.")
flags.DEFINE_integer("steps", 3, "Timed training steps (after 2 warm-up steps).")
FLAGS = flags.FLAGS
SCALE = 4


def main(argv):
    del argv
    *_, batch, hr_patch = PRESETS[FLAGS.preset]
    start = time.perf_counter()
    store = pipelines.build_training_store(FLAGS.train, SCALE, hr_patch)
    print(f"decoded and degraded {len(store)} images in {time.perf_counter() - start:.1f} s")

    produced = patches_per_second(store, hr_patch // SCALE, batch, FLAGS.seconds)

    step = make_step(2, "ml", FLAGS.preset)
    for _ in range(2):
        step()
    times = []
    for _ in range(FLAGS.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    consumed = batch / statistics.median(times)
    print(f"preset {FLAGS.preset}: batch {batch}, HR patch {hr_patch}, x{SCALE}, on {machine()}")
    print(f"  pipeline produces      {produced:10.1f} patches/s")
    print(f"  K=2 ml step consumes   {consumed:10.1f} patches/s")
    print(f"ratio produced / consumed: {produced / consumed:.1f}  (target >= 5)")


if __name__ == "__main__":
    app.run(main)
