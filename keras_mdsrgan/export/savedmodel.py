"""SavedModels of a generator: the TF Serving one (uint8, float and encoded-image signatures) and the float core."""

from __future__ import annotations

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_mdsrgan import files


def _write_atomically(archive: keras.export.ExportArchive, path: str) -> None:
    """Write the archive next to ``path`` and rename it into place (no half-written model)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=files.temporary_prefix(), dir=parent)
    try:
        archive.write_out(os.path.join(tmp, "model"), verbose=False)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(os.path.join(tmp, "model"), path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_serving_model(generator: keras.Model, path: str) -> None:
    """A SavedModel with three signatures for TF Serving:

    ``serving_default``: ``lr`` uint8 [batch, height, width, 3] -> ``sr`` uint8 [batch, s·height,
    s·width, 3] (rounded, clipped); ``serving_float``: the same in float32, values in [0, 1];
    ``serving_bytes``: ``lr_bytes`` string [batch] of image files (PNG, JPEG, GIF, BMP, WebP) ->
    ``sr_bytes`` string [batch] of PNG files with ``serving_default``'s pixels. Each image of a
    ``serving_bytes`` batch runs on its own, so a batch (or the requests TF Serving's batcher
    merged) may mix sizes; the ``_bytes`` names make TF Serving's REST API return ``{"b64": ...}``.
    """

    def to_uint8(sr):
        return tf.cast(tf.clip_by_value(tf.round(sr * 255.0), 0.0, 255.0), tf.uint8)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="lr")])
    def serve_uint8(lr):
        lr = tf.ensure_shape(lr, [None, None, None, 3])  # a clear error, not a crash, on bad rank
        return {"sr": to_uint8(generator(tf.cast(lr, tf.float32) / 255.0, training=False))}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="lr")])
    def serve_float(lr):
        return {"sr": generator(tf.ensure_shape(lr, [None, None, None, 3]), training=False)}

    def upscale_file(data):
        # A non-image string is an InvalidArgumentError ("Unknown image file format"), not a crash.
        lr = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
        sr = generator(tf.cast(lr, tf.float32)[None] / 255.0, training=False)
        return tf.io.encode_png(to_uint8(sr)[0])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="lr_bytes")])
    def serve_bytes(lr_bytes):
        return {"sr_bytes": tf.map_fn(upscale_file, lr_bytes, fn_output_signature=tf.string)}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", serve_uint8)
    archive.add_endpoint("serving_float", serve_float)
    archive.add_endpoint("serving_bytes", serve_bytes)
    _write_atomically(archive, path)


def write_core_model(generator: keras.Model, path: str) -> None:
    """The float-in/float-out graph for TFLite: one image [1, H, W, 3] in [0, 1].

    Pre- and post-processing stay outside so full-integer quantization sees only the network.
    """

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name="lr")])
    def core(lr):
        return {"sr": generator(lr, training=False)}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", core)
    _write_atomically(archive, path)
