"""Our training step against a krasserm-style SRGAN step, and the cost of the cohort, side by side.

Times, interleaving their steps (round-robin) so machine noise hits all alike:
  reference        one SRGAN pair, krasserm/super-resolution's step (reference_step.py)
  single pair      ours, K = 1
  K=2 independent  ours, two pairs sharing the batch (HR's VGG features computed once)
  K=2 ml           ours, two pairs with mutual distillation of the discriminators
with --jit_compile also each of ours XLA-compiled (train's --jit_compile), "... XLA";
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
flags.DEFINE_bool("jit_compile", False, "Also time our steps XLA-compiled.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    ours = {"single pair": (1, "independent"), "K=2 independent": (2, "independent"), "K=2 ml": (2, "ml")}
    runs = {"reference": make_reference_step(FLAGS.preset)}
    for xla in (False, True) if FLAGS.jit_compile else (False,):
        runs.update({name + " XLA" * xla: make_step(*config, FLAGS.preset, jit_compile=xla)
                     for name, config in ours.items()})
    medians = interleaved_medians(runs, FLAGS.steps)
    print(f"preset {FLAGS.preset}, {FLAGS.steps} interleaved steps each, on {machine()}")
    for name, ms in medians.items():
        print(f"  {name:20s} {ms:9.1f} ms/step")
    reference = medians["reference"]
    for suffix in ("", " XLA") if FLAGS.jit_compile else ("",):
        single = medians["single pair" + suffix]
        print(f"ratio single pair{suffix} / reference:        {single / reference:.3f}  (target <= 0.85)")
        print(f"ratio K=2 independent{suffix} / (2 x single): "
              f"{medians['K=2 independent' + suffix] / (2 * single):.3f}  (target < 1)")
        print(f"ratio K=2 ml{suffix} / (2 x single):          {medians['K=2 ml' + suffix] / (2 * single):.3f}  "
              "(target <= 1.0)")
        print(f"ratio K=2 ml{suffix} / (2 x reference):       {medians['K=2 ml' + suffix] / (2 * reference):.3f}")


if __name__ == "__main__":
    app.run(main)
