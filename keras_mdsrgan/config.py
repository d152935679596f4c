"""Plain, frozen settings for every stage, each written once.

A field made by ``setting`` is also a command-line flag of ``train``: its help text, bounds and
choices live in the field's metadata, and ``cli.define_config_flags`` turns them into absl flags
at the command-line edge (no absl here). Fields made otherwise are set by code only.
"""

from __future__ import annotations

import dataclasses

from keras_mdsrgan import names
from keras_mdsrgan.errors import ConfigError
from keras_mdsrgan.model import SRGAN_VGG_RESCALE, distill, registry

INDEPENDENT = "independent"  # no distillation term: K separate SRGANs
MODES = (INDEPENDENT, *distill.TARGETS)
SCALES = (2, 3, 4, 8)
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
BEST_BY = ("psnr", "niqe", "pi")  # the validation score that picks a run's best generator


def setting(default, help: str, **flag):
    """A field that is also a flag: ``help``, and optionally ``lower_bound``, ``upper_bound``,
    ``choices`` and ``flag`` (the flag's name when it differs from the field's)."""
    return dataclasses.field(default=default, metadata={"help": help, **flag})


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where training and validation images come from and how patches are cut.

    A dataset spec is a folder of HR images, ``HR_DIR:LR_DIR`` (LR made elsewhere, matched by
    file name), ``tfds:div2k/bicubic_x4`` (TensorFlow Datasets, manual download), or
    ``sample:train`` / ``sample:val`` (photos that ship with scikit-image; no download).
    """

    train: tuple[str, ...] = setting(
        ("sample:train",),
        "Training sets: HR folders, HR_DIR:LR_DIR pairs, LIST.txt image lists, tfds:div2k/bicubic_x4, sample:train.",
    )
    val: tuple[str, ...] = setting(
        ("sample:val",),
        "Validation sets, each NAME=SPEC or SPEC (same forms as --train, no tfds); reported "
        "under NAME, else under the folder's name with parents added until names differ.",
    )
    scale: int = setting(4, "Upscaling factor.", choices=SCALES)
    hr_patch: int = setting(96, "HR training patch side (LR patch = hr_patch / scale).", lower_bound=8)
    batch_size: int = setting(16, "Global batch size (split across replicas).", lower_bound=1)
    skip_bad_files: bool = setting(False, "Skip undecodable images with a warning instead of stopping.")
    cache_dir: str | None = setting(None, "Cache decoded images as .npy here (memory-mapped); default in memory.")
    tfds_data_dir: str | None = setting(None, "TensorFlow Datasets data dir.")
    tfds_manual_dir: str | None = setting(None, "Folder holding manually downloaded archives (DIV2K zips).")
    val_max_images: int = setting(5, "Validation images used per set.", lower_bound=1)
    ma_model: str | None = setting(
        None,
        "The Ma et al. (2017) model (model.mat of the sr-metric release or pyiqa's NRQM_model.mat): "
        "validation and the final evaluation then report PI = ((10 - Ma) + NIQE) / 2.",
    )
    seed: int = setting(0, "Seed of patch sampling and augmentation.", flag="data_seed")

    @property
    def lr_patch(self) -> int:
        return self.hr_patch // self.scale

    def validate(self) -> None:
        if self.scale not in SCALES:
            raise ConfigError(f"scale must be one of {SCALES}, got {self.scale}")
        if self.hr_patch % self.scale:
            raise ConfigError(f"hr_patch={self.hr_patch} is not divisible by scale={self.scale}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {self.batch_size}")
        if not self.train:
            raise ConfigError("no training data given")
        names.dataset_names(self.val)  # distinct names, or a ConfigError


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Sizes of the K generator-discriminator pairs (SRGAN defaults)."""

    num_pairs: int = setting(2, "K, the number of generator-discriminator pairs.", lower_bound=1)
    gen_arch: str = setting(
        "srresnet", "Generator architecture (model/registry.py).", choices=tuple(registry.GENERATORS)
    )
    disc_arch: str = setting(
        "srgan", "Discriminator architecture (model/registry.py).", choices=tuple(registry.DISCRIMINATORS)
    )
    gen_filters: int = setting(64, "Generator channels.", lower_bound=1)
    gen_blocks: int = setting(16, "Generator residual blocks.", lower_bound=1)
    gen_batchnorm: bool = setting(
        True,
        "Batch norm in the generator's blocks (SRResNet); off: the PSNR-oriented variant without it (EDSR, MSRResNet).",
    )
    gen_bilinear_skip: bool = setting(
        False, "Add the bilinearly upsampled input to the generator's output, so it learns the residual (MSRResNet)."
    )
    gen_init_scale: float | None = setting(
        None,
        "Generator conv weights He-normal times this (MSRResNet: 0.1, the untrained network starts near "
        "zero); unset: Keras' Glorot-uniform.",
    )
    disc_filters: int = setting(64, "Discriminator channels of the first conv.", lower_bound=1)
    disc_dense: int = setting(1024, "Discriminator dense units.", lower_bound=1)
    sync_batchnorm: bool = setting(False, "Batch-norm statistics over all replicas (several devices).")

    def validate(self) -> None:
        if self.num_pairs < 1:
            raise ConfigError(f"num_pairs must be at least 1, got {self.num_pairs}")
        for name in ("gen_filters", "gen_blocks", "disc_filters", "disc_dense"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.gen_init_scale is not None and not self.gen_init_scale > 0:
            raise ConfigError(f"gen_init_scale must be positive, got {self.gen_init_scale}")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Loss weights of the GAN stage and the distillation setting."""

    mode: str = setting(
        "ml",
        f"How the discriminators learn from each other: {INDEPENDENT} (no distillation) or a target "
        f"of distill.TARGETS, one function each ({', '.join(distill.TARGETS)}; labels is a control).",
        choices=MODES,
    )
    pixel_weight: float = setting(0.0, "GAN-stage pixel MSE weight.", lower_bound=0)
    perceptual_weight: float = setting(1.0, "VGG19 perceptual loss weight (0 disables VGG).", lower_bound=0)
    perceptual_layer: str = setting("block5_conv4", "VGG19 layer of the perceptual loss (φ5,4).")
    perceptual_rescale: float = setting(SRGAN_VGG_RESCALE, "Factor applied to VGG features (SRGAN: 1/12.75).")
    vgg_weights: str | None = setting(
        None,
        "VGG19 notop .h5 file; default ~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 "
        "('random': tests only).",
    )
    adversarial_weight: float = setting(1e-3, "Generator adversarial loss weight.", lower_bound=0)
    distill_weight: float = setting(1.0, "λ, weight of the discriminators' distillation KL.", lower_bound=0)
    temperature: float = setting(1.0, "T of the tempered sigmoid in the distillation term.", lower_bound=1e-6)

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}")
        for name in ("pixel_weight", "perceptual_weight", "adversarial_weight", "distill_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The two-stage schedule (MSE pre-training, then GAN), optimisation and bookkeeping."""

    pretrain_steps: int = setting(0, "SRResNet (MSE) pre-training steps.", lower_bound=0)
    gan_steps: int = setting(1000, "GAN-stage steps.", lower_bound=0)
    shared_pretrain: bool = setting(True, "Start every pair from pair 0's pre-trained generator.")
    init_generator: str | None = setting(
        None,
        "A generator .keras file (e.g. generator_0.keras of a pre-training run), zoo:NAME (a shipped zoo "
        "model) or sample:srresnet_x4 (the quickstart's) every pair starts from instead of random weights; "
        "applied at step 0 only.",
    )
    init_partial: bool = setting(
        False,
        "With --init_generator: copy only the layers whose names and weight shapes match (e.g. an x2 body "
        "into an x4 generator, as EDSR does); the others start fresh.",
    )
    pretrain_lr: float = setting(1e-4, "Adam learning rate of pre-training.", lower_bound=0)
    gen_lr: float = setting(1e-4, "Adam learning rate of the generators (GAN stage).", lower_bound=0)
    disc_lr: float = setting(1e-4, "Adam learning rate of the discriminators.", lower_bound=0)
    lr_decay_steps: int = setting(
        0, "GAN steps after which GAN learning rates are multiplied by --lr_decay_factor (0: never).", lower_bound=0
    )
    pretrain_lr_decay_steps: int = setting(
        0,
        "Pre-training steps after which its learning rate is multiplied by --lr_decay_factor (0: never).",
        lower_bound=0,
    )
    lr_decay_factor: float = setting(0.1, "Learning-rate factor after --lr_decay_steps.", lower_bound=0)
    adam_beta1: float = setting(0.9, "Adam β1.", lower_bound=0, upper_bound=1)
    checkpoint_every: int = setting(500, "Steps between checkpoints.", lower_bound=1)
    keep_checkpoints: int = setting(
        3, "Checkpoints kept (at least 2: a damaged newest one falls back to the one before).", lower_bound=2
    )
    log_every: int = setting(50, "Steps between TensorBoard scalar writes.", lower_bound=1)
    val_every: int = setting(1000, "Steps between validation PSNR / image logs in TensorBoard.", lower_bound=1)
    best_by: str = setting(
        "psnr",
        "The first --val set's score that picks best/generator_K.keras: psnr (highest), or niqe / pi (lowest: "
        "for GAN stages, whose PSNR falls as the adversary works; pi needs --ma_model).",
        choices=BEST_BY,
    )
    verbosity: int = 1  # from absl's --verbosity: 0 hides the progress bar
    seed: int = setting(0, "Seed of weight initialisation.")
    strategy: str = setting(
        "auto",
        "tf.distribute strategy; auto = mirrored over several GPUs, else one device; multi_worker reads "
        "the cluster from TF_CONFIG.",
        choices=STRATEGIES,
    )
    jit_compile: bool | None = setting(
        None,
        "XLA-compile the per-replica step; unset: on only where TensorFlow runs its Eigen CPU kernels "
        "(AVX2-only CPUs), one replica, no GPU (distributed.use_xla).",
    )
    mixed_precision: bool = setting(False, "mixed_float16 compute with dynamic loss scaling per optimizer (GPUs).")

    def validate(self) -> None:
        if self.pretrain_steps < 0 or self.gan_steps < 0:
            raise ConfigError("step counts must not be negative")
        if self.pretrain_steps + self.gan_steps == 0:
            raise ConfigError("nothing to train: pretrain_steps and gan_steps are both 0")
        if min(self.checkpoint_every, self.log_every, self.val_every) < 1:
            raise ConfigError("checkpoint_every, log_every and val_every must be positive")
        if self.keep_checkpoints < 2:
            raise ConfigError(
                "keep_checkpoints must be at least 2, so that a damaged newest checkpoint has one to go back to"
            )
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}")
        if self.best_by not in BEST_BY:
            raise ConfigError(f"best_by must be one of {BEST_BY}, got {self.best_by!r}")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    train: TrainConfig = TrainConfig()

    def validate(self) -> None:
        self.data.validate()
        self.model.validate()
        self.loss.validate()
        self.train.validate()
        if self.loss.mode != INDEPENDENT and self.model.num_pairs < 2:
            raise ConfigError(f"mode {self.loss.mode!r} needs at least 2 pairs")
        if self.train.best_by == "pi" and not self.data.ma_model:
            raise ConfigError("best_by=pi needs --ma_model (PI is computed from the Ma et al. score)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
