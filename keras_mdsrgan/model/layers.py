"""Custom layers, registered so a saved ``.keras`` model reloads without this package's code paths."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_mdsrgan")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution's rearrangement: (H, W, C·r²) -> (r·H, r·W, C) (Shi et al. 2016)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return keras.ops.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.factor
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="keras_mdsrgan")
class BilinearUpsample(keras.layers.Layer):
    """Bilinear resize by an integer factor, half-pixel centres, for inputs of any size
    (Keras' UpSampling2D needs a static size inside a traced function)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        import tensorflow as tf  # keras.ops.image.resize checks the size in Python: static only

        size = tf.shape(inputs)[1:3] * self.factor
        return tf.cast(tf.image.resize(inputs, size, "bilinear"), inputs.dtype)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.factor
        return (n, None if h is None else h * r, None if w is None else w * r, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
