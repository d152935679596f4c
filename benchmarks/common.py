"""Shared by the benchmark scripts: network presets and a timed-step factory."""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from keras_mdsrgan.training import build, distributed  # noqa: E402

PRESETS = {  # gen_blocks, gen_filters, disc_filters, disc_dense, batch, hr_patch
    "srgan": (16, 64, 64, 1024, 16, 96),
    "small": (4, 32, 16, 128, 8, 48),
    "tiny": (1, 4, 4, 8, 2, 16),  # keeps the scripts runnable inside the tests
    "study_b": (8, 32, 32, 256, 8, 48),  # studies/study.py's Study B (pixel loss, no VGG)
}
PIXEL_LOSS = {"study_b"}  # presets trained by pixel + adversarial loss, as flags/repro_x4.cfg
# The VGG19 layer of the perceptual loss: SRGAN's φ5,4, but φ1,2 (two convolutions) for tiny, so
# that the tests run every path of the scripts without tracing and compiling all of VGG19.
VGG_LAYERS = {"tiny": "block1_conv2"}


def vgg_layer(preset: str) -> str:
    return VGG_LAYERS.get(preset, "block5_conv4")


def make_step(num_pairs: int, mode: str, preset: str, mixed_precision: bool = False, jit_compile: bool = False):
    """A callable running one training step of a freshly built cohort on a fixed batch."""
    blocks, filters, dfilters, dense, batch, patch = PRESETS[preset]
    config = RunConfig(
        data=DataConfig(scale=4, hr_patch=patch, batch_size=batch),
        model=ModelConfig(
            num_pairs=num_pairs, gen_filters=filters, gen_blocks=blocks, disc_filters=dfilters, disc_dense=dense
        ),
        loss=(
            LossConfig(mode=mode, pixel_weight=1.0, perceptual_weight=0.0)
            if preset in PIXEL_LOSS
            else LossConfig(mode=mode, perceptual_layer=vgg_layer(preset), vgg_weights="random")
        ),
        train=TrainConfig(mixed_precision=mixed_precision),
    )
    cohort = build.build_cohort(config)
    lr = tf.random.uniform([batch, patch // 4, patch // 4, 3], seed=1)
    hr = tf.random.uniform([batch, patch, patch, 3], seed=2)
    step = tf.function(cohort.train_step, jit_compile=jit_compile, autograph=False)  # as training runs it

    def run():
        logs = step((lr, hr))
        return float(next(iter(logs.values())))  # wait for the step to finish

    return run


def make_extra_work(preset: str, jit_compile: bool = False) -> dict:
    """Callables timing the two things a K = 2 ``ml`` cohort does differently from two single
    steps: each discriminator judges one more SR batch (forward, and gradients for its weights,
    in training mode), and the HR batch's VGG features are computed once instead of twice."""
    from keras_mdsrgan.model import losses
    from keras_mdsrgan.model.discriminators import build_srgan_discriminator

    _, _, dfilters, dense, batch, patch = PRESETS[preset]
    discriminator = build_srgan_discriminator(patch, dfilters, dense, name="extra_discriminator")
    vgg = losses.build_vgg_features(vgg_layer(preset), "random")
    images = tf.random.uniform([batch, patch, patch, 3], seed=3)

    @tf.function(jit_compile=jit_compile, autograph=False)
    def discriminator_pass():
        with tf.GradientTape() as tape:
            mean_logit = tf.reduce_mean(discriminator(images, training=True))
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(mean_logit, discriminator.trainable_variables)])

    @tf.function(jit_compile=jit_compile, autograph=False)
    def hr_features():
        return tf.reduce_sum(losses.vgg_embedding(vgg, images))

    return {"one more D pass": lambda: float(discriminator_pass()), "VGG of HR": lambda: float(hr_features())}


def make_reference_step(preset: str):
    """A callable running one krasserm-style SRGAN step (reference_step.py) on a fixed batch."""
    from reference_step import ReferenceSrganStep

    blocks, filters, dfilters, dense, batch, patch = PRESETS[preset]
    reference = ReferenceSrganStep(4, blocks, filters, dfilters, dense, patch, vgg_layer(preset))
    lr = tf.random.uniform([batch, patch // 4, patch // 4, 3], seed=1)
    hr = tf.random.uniform([batch, patch, patch, 3], seed=2)
    return lambda: float(reference.step(lr, hr))


def patches_per_second(store, lr_patch: int, batch: int, seconds: float) -> float:
    """How many training patches the tf.data pipeline makes per second, drained for ``seconds``."""
    from keras_mdsrgan.data import pipelines

    iterator = iter(pipelines.training_dataset(store, lr_patch, batch, seed=0))
    for _ in range(5):  # fill the prefetch buffer first
        next(iterator)
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        batches += 1
    return batches * batch / (time.perf_counter() - start)


def machine() -> str:
    """The machine, printed by every benchmark beside its figures (CPU model, cores, kernels, GPUs)."""
    return distributed.describe_machine()


def interleaved_medians(runs: dict, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median ms of each callable, timed round-robin so machine noise hits all of them alike."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def conv_flops(model, height: int, width: int) -> int:
    """2 x multiply-adds of every Conv2D for an LR input of height x width ('same' padding, stride 1).

    The layers are in graph order, so a convolution works at the resolution reached by the
    pixel shuffles before it.
    """
    import keras

    from keras_mdsrgan.model.layers import PixelShuffle

    total, upscaled = 0, 1
    for layer in model.layers:
        if isinstance(layer, PixelShuffle):
            upscaled *= layer.factor
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, in_c, out_c = layer.kernel.shape
            total += 2 * kh * kw * in_c * out_c * (height * upscaled) * (width * upscaled)
    return total
