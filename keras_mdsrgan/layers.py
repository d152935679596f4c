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
