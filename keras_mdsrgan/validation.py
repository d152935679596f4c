"""Validation during training: scores per pair and an image grid, in TensorBoard."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_mdsrgan import evaluation, ma, names


class Validator:
    """PSNR, NIQE (and PI with a Ma model) of every pair on held-out images, and an
    LR | bicubic | SR_0 .. SR_K-1 | HR grid of the first image."""

    def __init__(self, images: list, scale: int, generators: list, ma_model: ma.MaModel | None = None):
        self.images, self.scale, self.ma_model = images, scale, ma_model
        self.bicubic = evaluation.bicubic_upscaler(scale)
        self.upscalers = [evaluation.generator_upscaler(g) for g in generators]  # traced once, reused

    def log(self, writer, step: int) -> None:
        grid = []
        with writer.as_default(step=step):
            for k, upscale in enumerate(self.upscalers):
                outputs = [upscale(lr) for _, lr, _, _ in self.images]
                scores = evaluation.summarize({name: evaluation.score_image(hr, sr, self.scale, grey, self.ma_model)
                                               for (name, _, hr, grey), sr in zip(self.images, outputs)})
                for key in ("psnr", "niqe", "pi"):
                    if scores[key] is not None:  # NIQE / PI: images large enough (PI: a Ma model given)
                        tf.summary.scalar(f"val/{names.pair_name(k)}_{key}", scores[key])
                grid.append(outputs[0])
            _, lr, hr, _ = self.images[0]
            nearest = np.repeat(np.repeat(lr, self.scale, axis=0), self.scale, axis=1)
            grid = [nearest, self.bicubic(lr), *grid, hr]
            tf.summary.image("val/lr_bicubic_sr_hr", np.concatenate(grid, axis=1)[None], max_outputs=1)
