"""Build the cohort a RunConfig describes: K seeded pairs, VGG features and their optimizers."""

from __future__ import annotations

import logging
import os

import keras

from keras_mdsrgan import RESOURCES
from keras_mdsrgan.config import RunConfig, TrainConfig
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference, losses, registry, zoo
from keras_mdsrgan.training.cohort import MutualSRGAN
from keras_mdsrgan.training.fused_adam import FusedAdam

log = logging.getLogger(__name__)


def build_cohort(config: RunConfig) -> MutualSRGAN:
    """K freshly initialised pairs (seeded) with their optimizers, ready to train.

    Only what the schedule trains is built, so checkpoints hold nothing else: a run without a
    GAN stage has no discriminators (nor GAN optimizers), and pre-training optimizers exist for
    the generators pre-training updates (pair 0 only with ``shared_pretrain``).
    """
    m, loss, t, d = config.model, config.loss, config.train, config.data
    keras.utils.set_random_seed(t.seed)
    previous_policy = keras.mixed_precision.global_policy()
    if t.mixed_precision:  # float16 compute, float32 variables; losses are cast to float32
        keras.mixed_precision.set_global_policy("mixed_float16")
    generators = [registry.build_generator(m.gen_arch, m, d.scale, f"generator_{k}") for k in range(m.num_pairs)]
    gan = t.gan_steps > 0
    discriminators = (
        [registry.build_discriminator(m.disc_arch, m, d.hr_patch, f"discriminator_{k}") for k in range(m.num_pairs)]
        if gan
        else []
    )
    vgg = (
        losses.build_vgg_features(loss.perceptual_layer, loss.vgg_weights)
        if gan and loss.perceptual_weight > 0
        else None
    )
    keras.mixed_precision.set_global_policy(previous_policy)
    cohort = MutualSRGAN(generators, discriminators, loss, vgg)
    pretrained = (1 if t.shared_pretrain else m.num_pairs) if t.pretrain_steps else 0
    cohort.compile(
        gen_optimizers=[adam(t.gen_lr, t.lr_decay_steps, t) for _ in discriminators],
        disc_optimizers=[adam(t.disc_lr, t.lr_decay_steps, t) for _ in discriminators],
        pretrain_optimizers=[adam(t.pretrain_lr, t.pretrain_lr_decay_steps, t) for _ in range(pretrained)],
    )
    return cohort


def adam(lr: float, decay_steps: int, t: TrainConfig) -> keras.optimizers.Optimizer:
    """Adam at ``lr``, times ``t.lr_decay_factor`` after ``decay_steps`` of its own steps (0: never),
    each variable updated by one fused op (``fused_adam``); with dynamic loss scaling under mixed
    precision."""
    schedule = lr
    if decay_steps:
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([decay_steps], [lr, lr * t.lr_decay_factor])
    optimizer = FusedAdam(schedule, beta_1=t.adam_beta1)
    return keras.optimizers.LossScaleOptimizer(optimizer) if t.mixed_precision else optimizer


# Generators shipped in keras_mdsrgan/resources, named ``sample:NAME`` (flags/quickstart_start.cfg made it).
SAMPLE_GENERATORS = {"srresnet_x4": "quickstart_srresnet_x4.keras"}


def generator_path(spec: str) -> str:
    """The file an ``--init_generator`` value names: a path, ``zoo:NAME`` (a zoo model) or
    ``sample:NAME`` (the quickstart's start generator)."""
    if zoo.is_zoo(spec):
        return zoo.path(spec)
    if not spec.startswith("sample:"):
        return spec
    name = spec.split(":", 1)[1]
    if name not in SAMPLE_GENERATORS:
        raise UserError(
            f"--init_generator {spec}: unknown sample generator; use one of "
            f"{', '.join('sample:' + n for n in SAMPLE_GENERATORS)}"
        )
    return os.path.join(RESOURCES, SAMPLE_GENERATORS[name])


def copy_generator_weights(spec: str, generators: list[keras.Model], partial: bool = False) -> None:
    """Start every generator from the saved generator ``spec`` names (e.g. a shared pre-training).

    ``partial``: copy only the layers whose name and weight shapes match, the others keep their
    fresh initialisation (e.g. an x2 body into an x4 generator, as EDSR starts x4 from x2); the
    layers left fresh are logged.
    """
    path = generator_path(spec)
    source = inference.load(spec if zoo.is_zoo(spec) else path)
    if not isinstance(source, inference.KerasUpscaler):
        raise UserError(f"--init_generator {path}: needs a .keras generator")
    if partial:
        _copy_matching_layers(source.model, generators, path)
        return
    weights = source.model.get_weights()
    for generator in generators:
        try:
            generator.set_weights(weights)
        except ValueError:
            raise UserError(
                f"--init_generator {path}: its architecture differs from this run's "
                "--gen_filters / --gen_blocks / --scale (--init_partial copies the layers "
                "that match)"
            ) from None


def _copy_matching_layers(source: keras.Model, generators: list[keras.Model], path: str) -> None:
    """Copy each layer of ``source`` whose name and weight shapes match into every generator."""
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    weighted = [layer.name for layer in generators[0].layers if layer.weights]
    copied = [
        name
        for name in weighted
        if name in by_name
        and [w.shape for w in by_name[name].weights] == [w.shape for w in generators[0].get_layer(name).weights]
    ]
    if not copied:
        raise UserError(f"--init_generator {path}: no layer matches this run's generator by name and shape")
    for generator in generators:
        for name in copied:
            generator.get_layer(name).set_weights(by_name[name].get_weights())
    fresh = [name for name in weighted if name not in copied]
    log.info(
        "--init_generator %s: copied %d of %d layers; fresh: %s",
        path,
        len(copied),
        len(weighted),
        ", ".join(fresh) or "none",
    )
