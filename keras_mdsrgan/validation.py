"""Validation during training: scores per pair and an image grid, in TensorBoard."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_mdsrgan import evaluation, ma, names, probe


class Validator:
    """PSNR, NIQE (and PI with a Ma model) of every pair on held-out images, the discriminators'
    scores on a probe cut from them (``probe.py``), and an LR | bicubic | SR_0 .. SR_K-1 | HR grid
    of the first image."""

    def __init__(self, images: list, scale: int, generators: list, discriminators: list = (),
                 hr_patch: int | None = None, ma_model: ma.MaModel | None = None):
        self.images, self.scale, self.ma_model = images, scale, ma_model
        self.generators, self.discriminators = generators, list(discriminators)
        self.bicubic = evaluation.bicubic_upscaler(scale)
        self.upscalers = [evaluation.generator_upscaler(g) for g in generators]  # traced once, reused
        self.probe = probe.make_probe(images, scale, hr_patch) if self.discriminators else None

    def log(self, writer, step: int) -> None:
        grid = []
        with writer.as_default(step=step):
            for k, upscale in enumerate(self.upscalers):
                outputs = [upscale(lr) for _, lr, _, _ in self.images]
                scores = evaluation.summarize({name: evaluation.score_image(hr, sr, self.scale, grey, self.ma_model)
                                               for (name, _, hr, grey), sr in zip(self.images, outputs)})
                for key in ("psnr", "ssim", "niqe", "pi"):
                    if scores[key] is not None:  # NIQE / PI: images large enough (PI: a Ma model given)
                        tf.summary.scalar(f"val/{names.pair_name(k)}_{key}", scores[key])
                grid.append(outputs[0])
            if self.probe:
                self._log_discriminators()
            _, lr, hr, _ = self.images[0]
            nearest = np.repeat(np.repeat(lr, self.scale, axis=0), self.scale, axis=1)
            grid = [nearest, self.bicubic(lr), *grid, hr]
            tf.summary.image("val/lr_bicubic_sr_hr", np.concatenate(grid, axis=1)[None], max_outputs=1)

    def _log_discriminators(self) -> None:
        """val/pairK_d_{acc,auc,nll,ece,brier} on the whole probe, and val/pairK_d_auc_{kind}."""
        scores = probe.discriminator_scores(self.generators, self.discriminators, self.probe)
        for pair, per_kind in scores.items():
            for metric, value in per_kind["all"].items():
                tf.summary.scalar(f"val/{pair}_d_{metric}", value)
            for kind, values in per_kind.items():
                if kind != "all":
                    tf.summary.scalar(f"val/{pair}_d_auc_{kind}", values["auc"])
