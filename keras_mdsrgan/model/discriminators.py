"""The SRGAN discriminator (Ledig et al. 2017): eight 3x3 convs, dense 1024, one logit."""

from __future__ import annotations

import keras
from keras import layers


def build_srgan_discriminator(
    patch_size: int = 96,
    filters: int = 64,
    dense_units: int = 1024,
    name: str = "discriminator",
    sync_batchnorm: bool = False,
) -> keras.Model:
    """Conv widths f, f, 2f, 2f, 4f, 4f, 8f, 8f with stride 2 on every second conv; BN on all
    but the first; LeakyReLU(0.2). Input: HR RGB in [0, 1] of ``patch_size`` squared."""
    image = keras.Input(shape=(patch_size, patch_size, 3), name="hr")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(image)
    for i in range(8):
        width = filters * 2 ** (i // 2)
        x = layers.Conv2D(width, 3, strides=1 + i % 2, padding="same", name=f"conv{i}")(x)
        if i > 0:
            x = layers.BatchNormalization(synchronized=sync_batchnorm, name=f"bn{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"lrelu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, name="dense")(x)
    x = layers.LeakyReLU(0.2, name="dense_lrelu")(x)
    logit = layers.Dense(1, name="logit")(x)
    return keras.Model(image, logit, name=name)


def build(config, patch_size: int, name: str) -> keras.Model:
    """The registry's entry: the SRGAN discriminator sized by ``config`` (a ModelConfig)."""
    return build_srgan_discriminator(
        patch_size, config.disc_filters, config.disc_dense, name=name, sync_batchnorm=config.sync_batchnorm
    )
