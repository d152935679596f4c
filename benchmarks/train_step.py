"""Cost of mutual distillation: median ms per training step, measured side by side.

Times one SRGAN pair, the K=2 cohort in `independent` mode and in `ml` mode, interleaving
their steps (round-robin) so machine noise hits all three alike, and prints
ml / (2 x single). The VGG19 of the perceptual loss is randomly initialised (same cost).

  python benchmarks/train_step.py                 # SRGAN sizes: 16 blocks, 64 ch, batch 16, HR 96
  python benchmarks/train_step.py --preset=small  # a quick look
"""

from __future__ import annotations

import os

from absl import app, flags

from common import PRESETS, interleaved_medians, make_step

flags.DEFINE_enum("preset", "srgan", sorted(PRESETS), "Network and batch sizes.")
flags.DEFINE_integer("steps", 10, "Timed steps per configuration (after 2 warm-up steps).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    runs = {"single pair": make_step(1, "independent", FLAGS.preset),
            "K=2 independent": make_step(2, "independent", FLAGS.preset),
            "K=2 ml": make_step(2, "ml", FLAGS.preset)}
    medians = interleaved_medians(runs, FLAGS.steps)
    print(f"preset {FLAGS.preset}, {FLAGS.steps} interleaved steps each, {os.cpu_count()} CPU cores")
    for name, ms in medians.items():
        print(f"  {name:16s} {ms:9.1f} ms/step")
    single = medians["single pair"]
    print(f"ratio independent / (2 x single): {medians['K=2 independent'] / (2 * single):.3f}")
    print(f"ratio ml / (2 x single):          {medians['K=2 ml'] / (2 * single):.3f}  (target <= 1.15)")


if __name__ == "__main__":
    app.run(main)
