"""Plain, frozen settings for every stage. No absl here: flags are parsed at the CLI edge."""

from __future__ import annotations

import dataclasses

from keras_mdsrgan import distill, names
from keras_mdsrgan.errors import ConfigError

INDEPENDENT = "independent"  # no distillation term: K separate SRGANs
MODES = (INDEPENDENT, *distill.TARGETS)
SRGAN_VGG_RESCALE = 1.0 / 12.75  # SRGAN's scaling of VGG19 features (Ledig et al. 2017)
SCALES = (2, 3, 4, 8)
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where training and validation images come from and how patches are cut.

    A dataset spec is a folder of HR images, ``HR_DIR:LR_DIR`` (LR made elsewhere, matched by
    file name), ``tfds:div2k/bicubic_x4`` (TensorFlow Datasets, manual download), or
    ``sample:train`` / ``sample:val`` (photos that ship with scikit-image; no download).
    """

    train: tuple[str, ...] = ("sample:train",)
    val: tuple[str, ...] = ("sample:val",)
    scale: int = 4
    hr_patch: int = 96
    batch_size: int = 16  # global batch, split over all replicas
    skip_bad_files: bool = False
    cache_dir: str | None = None  # None: decoded images stay in memory
    tfds_data_dir: str | None = None
    tfds_manual_dir: str | None = None
    val_max_images: int = 5
    ma_model: str | None = None  # Ma et al. (2017) model.mat: PI in validation and the final evaluation
    seed: int = 0

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

    num_pairs: int = 2
    gen_filters: int = 64
    gen_blocks: int = 16
    gen_batchnorm: bool = True  # False: SRResNet without batch norm (EDSR's / MSRResNet's PSNR variant)
    gen_bilinear_skip: bool = False  # add the bilinearly upsampled input to the output (MSRResNet)
    gen_init_scale: float | None = None  # He-normal weights times this (MSRResNet: 0.1); None: Glorot
    disc_filters: int = 64
    disc_dense: int = 1024
    sync_batchnorm: bool = False  # batch statistics over all replicas (tf.distribute)

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

    mode: str = "ml"
    pixel_weight: float = 0.0
    perceptual_weight: float = 1.0
    perceptual_layer: str = "block5_conv4"
    perceptual_rescale: float = SRGAN_VGG_RESCALE
    vgg_weights: str | None = None  # None: Keras' cache (~/.keras/models); "random": tests only
    adversarial_weight: float = 1e-3
    distill_weight: float = 1.0
    temperature: float = 1.0

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

    pretrain_steps: int = 0
    gan_steps: int = 1000
    shared_pretrain: bool = True
    init_generator: str | None = None  # a saved generator every pair starts from (e.g. a shared pre-training)
    init_partial: bool = False  # copy only init_generator's layers that match by name and shape
    pretrain_lr: float = 1e-4
    gen_lr: float = 1e-4
    disc_lr: float = 1e-4
    lr_decay_steps: int = 0  # GAN steps after which both GAN learning rates are multiplied
    pretrain_lr_decay_steps: int = 0  # pre-training steps after which its learning rate is multiplied
    lr_decay_factor: float = 0.1
    adam_beta1: float = 0.9
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    log_every: int = 50
    val_every: int = 1000
    verbosity: int = 1
    seed: int = 0
    strategy: str = "auto"
    jit_compile: bool | None = None  # None: XLA where it is measured faster (distributed.use_xla)
    mixed_precision: bool = False

    def validate(self) -> None:
        if self.pretrain_steps < 0 or self.gan_steps < 0:
            raise ConfigError("step counts must not be negative")
        if self.pretrain_steps + self.gan_steps == 0:
            raise ConfigError("nothing to train: pretrain_steps and gan_steps are both 0")
        if min(self.checkpoint_every, self.log_every, self.val_every) < 1:
            raise ConfigError("checkpoint_every, log_every and val_every must be positive")
        if self.keep_checkpoints < 2:
            raise ConfigError("keep_checkpoints must be at least 2, so that a damaged newest checkpoint has one to go back to")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}")


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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
