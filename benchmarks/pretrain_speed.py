"""Steps per hour of the pixel-loss (pre-training) step of one generator, for the settings a
long PSNR-oriented training chooses between, timed side by side (round-robin).

Each configuration is ``BLOCKSxFILTERS[-nobn]/xSCALE/lrPATCH/bBATCH[/xla]``: the SRResNet's size,
with or without batch norm, the scale, the LR patch side, the batch and whether the step is
XLA-compiled (train's --jit_compile). The step is the cohort's own ``pretrain_step`` on fixed
random batches; the input pipeline is timed apart (``--pipeline``), as patches per second.

  python benchmarks/pretrain_speed.py                                  # the zoo's candidates
  python benchmarks/pretrain_speed.py --configs=16x64/x4/lr24/b16,16x64-nobn/x4/lr24/b16/xla
  python benchmarks/pretrain_speed.py --threads=1                      # one core per process
"""

from __future__ import annotations

import re

from absl import app, flags

flags.DEFINE_list(
    "configs",
    [
        "16x64/x4/lr24/b16",
        "16x64-nobn/x4/lr24/b16",
        "16x64-nobn/x4/lr24/b16/xla",
        "16x64-nobn/x2/lr32/b16",
        "16x64-nobn/x2/lr48/b16",
    ],
    "Configurations to time (see the module docstring).",
)
flags.DEFINE_integer("steps", 6, "Timed steps per configuration, after 2 warm-up steps.")
flags.DEFINE_integer("threads", 0, "TensorFlow intra- and inter-op threads (0: TensorFlow's default).")
flags.DEFINE_string(
    "pipeline",
    None,
    "Also time the tf.data pipeline on this training folder (comma-separated "
    "specs), at the first configuration's scale, patch and batch.",
)
FLAGS = flags.FLAGS

CONFIG = re.compile(r"(\d+)x(\d+)(-nobn)?/x(\d)/lr(\d+)/b(\d+)(/xla)?$")


def parse(config: str) -> dict:
    """A configuration string as the generator's and the step's settings."""
    match = CONFIG.match(config)
    if not match:
        raise app.UsageError(f"bad configuration {config!r}; e.g. 16x64-nobn/x4/lr24/b16/xla")
    blocks, filters, nobn, scale, patch, batch, xla = match.groups()
    return {
        "blocks": int(blocks),
        "filters": int(filters),
        "batchnorm": not nobn,
        "scale": int(scale),
        "lr_patch": int(patch),
        "batch": int(batch),
        "xla": bool(xla),
    }


def make_pretrain_step(c: dict):
    """A callable running one pre-training step of a fresh generator on a fixed random batch."""
    import tensorflow as tf

    from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
    from keras_mdsrgan.training import build

    config = RunConfig(
        data=DataConfig(scale=c["scale"], hr_patch=c["lr_patch"] * c["scale"], batch_size=c["batch"]),
        model=ModelConfig(num_pairs=1, gen_filters=c["filters"], gen_blocks=c["blocks"], gen_batchnorm=c["batchnorm"]),
        loss=LossConfig(mode="independent", pixel_weight=1.0, perceptual_weight=0.0),
        train=TrainConfig(pretrain_steps=1, gan_steps=0),
    )
    cohort = build.build_cohort(config)
    lr = tf.random.uniform([c["batch"], c["lr_patch"], c["lr_patch"], 3], seed=1)
    hr = tf.random.uniform([c["batch"], c["lr_patch"] * c["scale"], c["lr_patch"] * c["scale"], 3], seed=2)
    step = tf.function(cohort.pretrain_step, jit_compile=c["xla"], autograph=False)
    return lambda: float(next(iter(step((lr, hr)).values())))


def main(argv):
    del argv
    import tensorflow as tf

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    from common import interleaved_medians, machine, patches_per_second

    parsed = {name: parse(name) for name in FLAGS.configs}
    medians = interleaved_medians({name: make_pretrain_step(c) for name, c in parsed.items()}, FLAGS.steps)
    threads = FLAGS.threads or "default"
    print(f"{FLAGS.steps} interleaved steps each, threads {threads}, on {machine()}")
    print(f"  {'configuration':30s} {'ms/step':>9s} {'steps/h':>8s} {'LR Mpx/s':>9s}  ratio to first")
    first = next(iter(medians.values()))
    for name, ms in medians.items():
        c = parsed[name]
        mpx = c["batch"] * c["lr_patch"] ** 2 / ms / 1000
        print(f"  {name:30s} {ms:9.1f} {3.6e6 / ms:8.0f} {mpx:9.3f}  {ms / first:.3f}")
    if FLAGS.pipeline:
        from keras_mdsrgan.data import pipelines

        c = parsed[FLAGS.configs[0]]
        store = pipelines.build_training_store(FLAGS.pipeline.split(","), c["scale"], c["lr_patch"] * c["scale"])
        rate = patches_per_second(store, c["lr_patch"], c["batch"], seconds=5)
        print(f"pipeline: {rate:.0f} patches/s ({rate / c['batch']:.1f} batches/s) at the first configuration")


if __name__ == "__main__":
    app.run(main)
