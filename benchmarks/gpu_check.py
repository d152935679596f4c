"""One prepared check for a lent GPU: the paper-size step in its variants, side by side.

Measures (interleaved medians, so noise hits all alike) one SRGAN pair's step in float32, with
mixed precision (mixed_float16 + loss scaling) and with XLA (jit_compile), and the K = 2 `ml`
cohort against two single steps; then the peak device memory of each, and whether the tf.data
pipeline outruns the K = 2 step. Prints ratios and the device it ran on. About 5 minutes on
one H100 at the default sizes; on a CPU, `--preset=tiny --steps=1` runs in seconds (the tests
do that, so the script cannot rot).

  python benchmarks/gpu_check.py [--preset=srgan] [--steps=20]
"""

from __future__ import annotations

from absl import app, flags

from common import PRESETS, interleaved_medians, machine, make_step, patches_per_second

flags.DEFINE_enum("preset", "srgan", sorted(PRESETS), "Network and batch sizes.")
flags.DEFINE_integer("steps", 20, "Timed steps per configuration (after 2 warm-up steps).")
flags.DEFINE_float("pipeline_seconds", 5.0, "How long to drain the input pipeline.")
FLAGS = flags.FLAGS
SCALE = 4
VARIANTS = {  # name: (num_pairs, mode, mixed_precision, jit_compile)
    "single fp32": (1, "independent", False, False),
    "single mixed": (1, "independent", True, False),
    "single jit": (1, "independent", False, True),
    "K=2 ml fp32": (2, "ml", False, False),
}


def peak_memory_gib(run) -> float | None:
    """Peak device memory of one call of ``run`` (None without a GPU)."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    tf.config.experimental.reset_memory_stats("GPU:0")
    run()
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**30


def main(argv):
    del argv
    from keras_mdsrgan.data import pipelines

    *_, batch, hr_patch = PRESETS[FLAGS.preset]
    runs = {
        name: make_step(pairs, mode, FLAGS.preset, mixed, jit) for name, (pairs, mode, mixed, jit) in VARIANTS.items()
    }
    medians = interleaved_medians(runs, FLAGS.steps)
    memory = {name: peak_memory_gib(run) for name, run in runs.items()}
    store = pipelines.build_training_store(["sample:train"], SCALE, hr_patch)
    produced = patches_per_second(store, hr_patch // SCALE, batch, FLAGS.pipeline_seconds)
    consumed = batch / (medians["K=2 ml fp32"] / 1000)

    print(
        f"preset {FLAGS.preset} (batch {batch}, HR {hr_patch}, x{SCALE}), {FLAGS.steps} interleaved steps, "
        f"on {machine()}"
    )
    for name, ms in medians.items():
        peak = "n/a" if memory[name] is None else f"{memory[name]:.2f} GiB"
        print(f"  {name:14s} {ms:9.1f} ms/step   peak device memory {peak}")
    single = medians["single fp32"]
    print(f"ratio mixed / fp32:                 {medians['single mixed'] / single:.3f}")
    print(f"ratio jit / fp32:                   {medians['single jit'] / single:.3f}")
    print(f"ratio K=2 ml / (2 x single fp32):   {medians['K=2 ml fp32'] / (2 * single):.3f}")
    print(f"input pipeline headroom (patches/s made / used by K=2 ml): {produced / consumed:.1f}")


if __name__ == "__main__":
    app.run(main)
