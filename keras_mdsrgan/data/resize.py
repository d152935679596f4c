"""MATLAB-compatible bicubic ``imresize`` in TensorFlow ops (runs inside tf.data graphs).

Follows MATLAB's ``imresize(img, 1/s, 'bicubic')``: the a = -0.5 cubic kernel, widened by
1/scale when shrinking (antialiasing), edge-replicating boundary (symmetric on request),
rows resized before columns, and for uint8 input rounding (half up) back to uint8 after *each* pass, as MATLAB
keeps the input class between passes. Weights are computed in float64 like MATLAB's doubles.
The result equals the MATLAB-made Set5/Set14 LR images in ../shared on every pixel.
"""

from __future__ import annotations

import tensorflow as tf


def _cubic(x: tf.Tensor) -> tf.Tensor:
    ax = tf.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * tf.cast(ax <= 1.0, x.dtype)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * tf.cast((ax > 1.0) & (ax <= 2.0), x.dtype)
    return near + far


def resize_matrix(in_size, out_size, scale: float, antialias: bool = True, boundary: str = "replicate") -> tf.Tensor:
    """The ``(out_size, in_size)`` float64 matrix that resizes one axis as MATLAB does.

    ``boundary``: taps beyond the edge take the edge pixel (``replicate``, which reproduces
    the MATLAB-made LR files of ../shared) or mirror (``symmetric``, the rule of imresize.m's
    source and of common Python ports such as BasicSR's).
    """
    in_size = tf.cast(in_size, tf.int64)
    out_size = tf.cast(out_size, tf.int64)
    shrink = scale < 1.0 and antialias
    kernel_width = 4.0 / scale if shrink else 4.0
    taps = int(tf.math.ceil(kernel_width)) + 2

    x = tf.range(1, out_size + 1, dtype=tf.float64)  # 1-based output coordinates
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # their positions in input coordinates
    left = tf.floor(u - kernel_width / 2.0)
    indices = left[:, None] + tf.range(taps, dtype=tf.float64)[None, :]  # 1-based
    distance = u[:, None] - indices
    weights = scale * _cubic(distance * scale) if shrink else _cubic(distance)
    weights /= tf.reduce_sum(weights, axis=1, keepdims=True)

    zero_based = tf.cast(indices, tf.int64) - 1
    if boundary == "replicate":
        taps = tf.clip_by_value(zero_based, 0, in_size - 1)
    elif boundary == "symmetric":  # MATLAB's aux = [1:in, in:-1:1]
        folded = tf.math.floormod(zero_based, 2 * in_size)
        taps = tf.where(folded < in_size, folded, 2 * in_size - 1 - folded)
    else:
        raise ValueError(f"unknown boundary {boundary!r}")

    rows = tf.broadcast_to(tf.range(out_size)[:, None], tf.shape(taps, out_type=tf.int64))
    segments = tf.reshape(rows * in_size + taps, [-1])
    flat = tf.math.unsorted_segment_sum(tf.reshape(weights, [-1]), segments, out_size * in_size)
    return tf.reshape(flat, tf.stack([out_size, in_size]))


def imresize(image: tf.Tensor, scale: float, antialias: bool = True, boundary: str = "replicate") -> tf.Tensor:
    """Resize an ``(H, W, C)`` image by ``scale`` like MATLAB's bicubic ``imresize``.

    The output size is ``ceil(H * scale) x ceil(W * scale)``. uint8 input gives uint8 output
    (rounded half up, clipped); float input gives float32 output, unrounded.
    """
    image = tf.convert_to_tensor(image)
    is_uint8 = image.dtype == tf.uint8
    x = tf.cast(image, tf.float64)
    shape = tf.shape(x, out_type=tf.int64)
    out_h = tf.cast(tf.math.ceil(tf.cast(shape[0], tf.float64) * scale), tf.int64)
    out_w = tf.cast(tf.math.ceil(tf.cast(shape[1], tf.float64) * scale), tf.int64)
    rows = resize_matrix(shape[0], out_h, scale, antialias, boundary)
    cols = resize_matrix(shape[1], out_w, scale, antialias, boundary)
    x = tf.einsum("oh,hwc->owc", rows, x)
    if is_uint8:  # MATLAB keeps the input class between the two passes
        x = _round_to_uint8_range(x)
    x = tf.einsum("pw,owc->opc", cols, x)
    if is_uint8:
        return tf.cast(_round_to_uint8_range(x), tf.uint8)
    return tf.cast(x, tf.float32)


def _round_to_uint8_range(x: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(tf.floor(x + 0.5), 0.0, 255.0)


def modcrop(image, scale: int):
    """Crop the bottom and right edges so both sides are multiples of ``scale`` (any array)."""
    h, w = image.shape[0], image.shape[1]
    return image[: h - h % scale, : w - w % scale]


def degrade(hr: tf.Tensor, scale: int) -> tf.Tensor:
    """The field's LR image: MATLAB bicubic downscaling of a uint8 HR image by ``1/scale``."""
    return imresize(hr, 1.0 / scale)
