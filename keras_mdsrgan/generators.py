"""SRResNet, the SRGAN generator (Ledig et al. 2017), for scales 2, 3, 4 and 8, with or without
batch norm (without: the PSNR-oriented variant of EDSR and BasicSR's MSRResNet, which trains at
higher learning rates and has no train/inference gap).

Input: LR RGB in [0, 1] of any size. Output: SR RGB, nominally in [0, 1] (linear output,
no tanh; clip when converting to an image).
"""

from __future__ import annotations

import keras
from keras import layers

from keras_mdsrgan.layers import PixelShuffle


def upsampling_factors(scale: int) -> list[int]:
    """Sub-pixel stages for ``scale``: x2 stages for powers of two, one x3 stage for 3."""
    if scale == 3:
        return [3]
    if scale in (2, 4, 8):
        return [2] * (scale.bit_length() - 1)
    raise ValueError(f"unsupported scale {scale}; use 2, 3, 4 or 8")


def _prelu(name: str) -> layers.Layer:
    return layers.PReLU(shared_axes=[1, 2], name=name)


def build_srresnet(scale: int = 4, filters: int = 64, num_blocks: int = 16, name: str = "srresnet",
                   sync_batchnorm: bool = False, batchnorm: bool = True) -> keras.Model:
    """9x9 head, ``num_blocks`` residual blocks (conv-BN-PReLU-conv-BN), long skip,
    sub-pixel upsampling with PReLU, 9x9 tail. ``batchnorm=False`` drops every BN layer;
    ``sync_batchnorm``: batch statistics over all replicas under tf.distribute."""
    def norm(x, layer_name):
        if not batchnorm:
            return x
        return layers.BatchNormalization(synchronized=sync_batchnorm, name=layer_name)(x)

    lr = keras.Input(shape=(None, None, 3), name="lr")
    x = layers.Conv2D(filters, 9, padding="same", name="head_conv")(lr)
    x = head = _prelu("head_prelu")(x)
    for b in range(num_blocks):
        y = layers.Conv2D(filters, 3, padding="same", name=f"block{b}_conv1")(x)
        y = norm(y, f"block{b}_bn1")
        y = _prelu(f"block{b}_prelu")(y)
        y = layers.Conv2D(filters, 3, padding="same", name=f"block{b}_conv2")(y)
        y = norm(y, f"block{b}_bn2")
        x = layers.Add(name=f"block{b}_add")([x, y])
    x = layers.Conv2D(filters, 3, padding="same", name="trunk_conv")(x)
    x = norm(x, "trunk_bn")
    x = layers.Add(name="long_skip")([head, x])
    for u, factor in enumerate(upsampling_factors(scale)):
        x = layers.Conv2D(filters * factor * factor, 3, padding="same", name=f"up{u}_conv")(x)
        x = PixelShuffle(factor, name=f"up{u}_shuffle")(x)
        x = _prelu(f"up{u}_prelu")(x)
    sr = layers.Conv2D(3, 9, padding="same", name="tail_conv")(x)
    return keras.Model(lr, sr, name=name)

