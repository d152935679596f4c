"""Our training step against a krasserm-style SRGAN step, and the cost of the cohort, side by side.

Times, interleaving their steps (round-robin) so machine noise hits all alike:
  reference        one SRGAN pair, krasserm/super-resolution's step (reference_step.py)
  single pair      ours, K = 1
  K=2 independent  ours, two pairs sharing the batch (HR's VGG features computed once)
  K=2 ml           ours, two pairs with mutual distillation of the discriminators
  single pair XLA  ours, K = 1, XLA-compiled (train's --jit_compile), with --jit_compile
and prints the ratios the targets are stated in. The VGG19 of the perceptual loss has random
weights (the same cost as ImageNet's).

  python benchmarks/train_step.py                 # SRGAN sizes: 16 blocks, 64 ch, batch 16, HR 96
  python benchmarks/train_step.py --preset=small  # a quick look
  TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/train_step.py --jit_compile  # an AVX2-only CPU's kernels
"""

from __future__ import annotations

from absl import app, flags

from common import PIXEL_LOSS, PRESETS, interleaved_medians, machine, make_reference_step, make_step

flags.DEFINE_enum("preset", "srgan", sorted(set(PRESETS) - PIXEL_LOSS),
                  "Network and batch sizes (those with VGG, as the reference).")
flags.DEFINE_integer("steps", 10, "Timed steps per configuration (after 2 warm-up steps).")
flags.DEFINE_bool("jit_compile", False, "Also time our single-pair step XLA-compiled.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    runs = {"reference": make_reference_step(FLAGS.preset),
            "single pair": make_step(1, "independent", FLAGS.preset),
            "K=2 independent": make_step(2, "independent", FLAGS.preset),
            "K=2 ml": make_step(2, "ml", FLAGS.preset)}
    if FLAGS.jit_compile:
        runs["single pair XLA"] = make_step(1, "independent", FLAGS.preset, jit_compile=True)
    medians = interleaved_medians(runs, FLAGS.steps)
    print(f"preset {FLAGS.preset}, {FLAGS.steps} interleaved steps each, on {machine()}")
    for name, ms in medians.items():
        print(f"  {name:16s} {ms:9.1f} ms/step")
    single, reference = medians["single pair"], medians["reference"]
    print(f"ratio single pair / reference:          {single / reference:.3f}  (target <= 0.85)")
    print(f"ratio K=2 independent / (2 x single):   {medians['K=2 independent'] / (2 * single):.3f}  (target < 1)")
    print(f"ratio K=2 ml / (2 x single):            {medians['K=2 ml'] / (2 * single):.3f}  (target <= 1.0)")
    print(f"ratio K=2 ml / (2 x reference):         {medians['K=2 ml'] / (2 * reference):.3f}")
    if FLAGS.jit_compile:
        print(f"ratio single pair XLA / reference:      {medians['single pair XLA'] / reference:.3f}")


if __name__ == "__main__":
    app.run(main)
