"""SRResNet, the SRGAN generator (Ledig et al. 2017), for scales 2, 3, 4 and 8, with or without
batch norm (without: the PSNR-oriented variant of EDSR and BasicSR's MSRResNet, which trains at
higher learning rates and has no train/inference gap).

Input: LR RGB in [0, 1] of any size. Output: SR RGB, nominally in [0, 1] (linear output,
no tanh; clip when converting to an image).

MSRResNet (BasicSR's PSNR SRResNet) adds two things that speed up training from scratch,
both optional here: a bilinear upsampling of the input added to the output (the network learns
the residual, as VDSR), and He-normal initial weights scaled down (by 0.1 in BasicSR), so the
untrained network starts near that bilinear image.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_mdsrgan.model.layers import BilinearUpsample, PixelShuffle


def upsampling_factors(scale: int) -> list[int]:
    """Sub-pixel stages for ``scale``: x2 stages for powers of two, one x3 stage for 3."""
    if scale == 3:
        return [3]
    if scale in (2, 4, 8):
        return [2] * (scale.bit_length() - 1)
    raise ValueError(f"unsupported scale {scale}; use 2, 3, 4 or 8")


def _prelu(name: str) -> layers.Layer:
    return layers.PReLU(shared_axes=[1, 2], name=name)


def build_srresnet(
    scale: int = 4,
    filters: int = 64,
    num_blocks: int = 16,
    name: str = "srresnet",
    sync_batchnorm: bool = False,
    batchnorm: bool = True,
    bilinear_skip: bool = False,
    init_scale: float | None = None,
) -> keras.Model:
    """9x9 head, ``num_blocks`` residual blocks (conv-BN-PReLU-conv-BN), long skip,
    sub-pixel upsampling with PReLU, 9x9 tail. ``batchnorm=False`` drops every BN layer;
    ``sync_batchnorm``: batch statistics over all replicas under tf.distribute;
    ``bilinear_skip``: add the bilinearly upsampled input to the output; ``init_scale``:
    He-normal convolution weights times this (None: Keras' Glorot-uniform default)."""

    def conv(units, size, layer_name):
        # A new initializer per layer: one unseeded instance repeats its values in every layer.
        init = (
            "glorot_uniform"
            if init_scale is None
            else keras.initializers.VarianceScaling(2.0 * init_scale**2, "fan_in", "untruncated_normal")
        )
        return layers.Conv2D(units, size, padding="same", kernel_initializer=init, name=layer_name)

    def norm(x, layer_name):
        if not batchnorm:
            return x
        return layers.BatchNormalization(synchronized=sync_batchnorm, name=layer_name)(x)

    lr = keras.Input(shape=(None, None, 3), name="lr")
    x = conv(filters, 9, "head_conv")(lr)
    x = head = _prelu("head_prelu")(x)
    for b in range(num_blocks):
        y = conv(filters, 3, f"block{b}_conv1")(x)
        y = norm(y, f"block{b}_bn1")
        y = _prelu(f"block{b}_prelu")(y)
        y = conv(filters, 3, f"block{b}_conv2")(y)
        y = norm(y, f"block{b}_bn2")
        x = layers.Add(name=f"block{b}_add")([x, y])
    x = conv(filters, 3, "trunk_conv")(x)
    x = norm(x, "trunk_bn")
    x = layers.Add(name="long_skip")([head, x])
    for u, factor in enumerate(upsampling_factors(scale)):
        x = conv(filters * factor * factor, 3, f"up{u}_conv")(x)
        x = PixelShuffle(factor, name=f"up{u}_shuffle")(x)
        x = _prelu(f"up{u}_prelu")(x)
    sr = conv(3, 9, "tail_conv")(x)
    if bilinear_skip:
        base = BilinearUpsample(scale, name="bilinear_skip")(lr)
        sr = layers.Add(name="global_skip")([base, sr])
    return keras.Model(lr, sr, name=name)


def build(config, scale: int, name: str) -> keras.Model:
    """The registry's entry: SRResNet sized by ``config`` (a ModelConfig)."""
    return build_srresnet(
        scale,
        config.gen_filters,
        config.gen_blocks,
        name=name,
        sync_batchnorm=config.sync_batchnorm,
        batchnorm=config.gen_batchnorm,
        bilinear_skip=config.gen_bilinear_skip,
        init_scale=config.gen_init_scale,
    )


def describe(model) -> str | None:
    """An SRResNet's shape in words (blocks, channels, variant), or None for another network."""
    layers_by_name = {layer.name: layer for layer in model.layers}
    if "head_conv" not in layers_by_name or "long_skip" not in layers_by_name:
        return None
    blocks = sum(1 for n in layers_by_name if n.startswith("block") and n.endswith("_add"))
    batchnorm = any(isinstance(layer, layers.BatchNormalization) for layer in model.layers)
    skip = any(isinstance(layer, BilinearUpsample) for layer in model.layers)
    return (
        f"SRResNet: {blocks} residual block(s) × {layers_by_name['head_conv'].filters} channels, PReLU, "
        "pixel-shuffle upsampling" + ("" if batchnorm else ", no batch norm") + (", bilinear skip" if skip else "")
    )
