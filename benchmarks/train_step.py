"""Our training step against a krasserm-style SRGAN step, and the cost of the cohort, side by side.

Times, interleaving their steps (round-robin) so machine noise hits all alike:
  reference        one SRGAN pair, krasserm/super-resolution's step (reference_step.py)
  single pair      ours, K = 1
  K=2 independent  ours, two pairs sharing the batch (HR's VGG features computed once)
  K=2 ml           ours, two pairs with mutual distillation of the discriminators
with --jit_compile also each of ours XLA-compiled (train's --jit_compile), "... XLA";
and prints the ratios the targets are stated in. It also times the two parts in which a K = 2
``ml`` step differs from two single steps (common.make_extra_work): one more discriminator pass
per pair (D_k judges the peer's SR batch for the distillation term) against the one VGG pass of
HR the cohort saves. "by these parts alone" is the ratio K=2 ml / (2 x single) would have if
nothing else differed: where it is above 1, no sharing of the remaining work can bring the
step to the target without changing what the method computes. The VGG19 of the perceptual
loss has random weights (the same cost as ImageNet's).

  python benchmarks/train_step.py                 # SRGAN sizes: 16 blocks, 64 ch, batch 16, HR 96
  python benchmarks/train_step.py --preset=small  # a quick look
  TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/train_step.py --jit_compile  # an AVX2-only CPU's kernels
"""

from __future__ import annotations

from absl import app, flags

from common import PIXEL_LOSS, PRESETS, interleaved_medians, machine, make_extra_work, make_reference_step, make_step

flags.DEFINE_enum(
    "preset", "srgan", sorted(set(PRESETS) - PIXEL_LOSS), "Network and batch sizes (those with VGG, as the reference)."
)
flags.DEFINE_integer("steps", 10, "Timed steps per configuration (after 2 warm-up steps).")
flags.DEFINE_bool("jit_compile", False, "Also time our steps XLA-compiled.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    ours = {"single pair": (1, "independent"), "K=2 independent": (2, "independent"), "K=2 ml": (2, "ml")}
    runs = {"reference": make_reference_step(FLAGS.preset)}
    for xla in (False, True) if FLAGS.jit_compile else (False,):
        runs.update(
            {name + " XLA" * xla: make_step(*config, FLAGS.preset, jit_compile=xla) for name, config in ours.items()}
        )
        runs.update({name + " XLA" * xla: run for name, run in make_extra_work(FLAGS.preset, xla).items()})
    medians = interleaved_medians(runs, FLAGS.steps)
    print(f"preset {FLAGS.preset}, {FLAGS.steps} interleaved steps each, on {machine()}")
    for name, ms in medians.items():
        print(f"  {name:22s} {ms:9.1f} ms")
    reference = medians["reference"]
    for suffix in ("", " XLA") if FLAGS.jit_compile else ("",):
        single = medians["single pair" + suffix]
        print(f"ratio single pair{suffix} / reference:        {single / reference:.3f}  (target <= 0.85)")
        print(
            f"ratio K=2 independent{suffix} / (2 x single): "
            f"{medians['K=2 independent' + suffix] / (2 * single):.3f}  (target < 1)"
        )
        print(
            f"ratio K=2 ml{suffix} / (2 x single):          {medians['K=2 ml' + suffix] / (2 * single):.3f}  "
            "(target <= 1.0)"
        )
        print(f"ratio K=2 ml{suffix} / (2 x reference):       {medians['K=2 ml' + suffix] / (2 * reference):.3f}")
        extra_d, hr_vgg = medians["one more D pass" + suffix], medians["VGG of HR" + suffix]
        print(
            f"  the same by these parts alone:      {1 + (2 * extra_d - hr_vgg) / (2 * single):.3f}  "
            f"(2 more D passes of {extra_d:.0f} ms, one VGG of HR of {hr_vgg:.0f} ms saved)"
        )


if __name__ == "__main__":
    app.run(main)
