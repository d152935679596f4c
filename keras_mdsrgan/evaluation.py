"""Run generators over whole images and score them against HR: the library side of evaluation."""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import tensorflow as tf

from keras_mdsrgan import metrics, resize

Upscaler = Callable[[np.ndarray], np.ndarray]  # uint8 LR (H, W, 3) -> uint8 SR (sH, sW, 3)


def to_uint8(image) -> np.ndarray:
    """[0, 1] floats to uint8 with rounding and clipping."""
    return np.clip(np.floor(np.asarray(image, np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


def generator_upscaler(generator) -> Upscaler:
    """Wrap a Keras generator (LR [0, 1] -> SR [0, 1]) as a uint8 image upscaler."""
    @tf.function(reduce_retracing=True)
    def run(lr):
        return generator(lr[None], training=False)[0]

    return lambda lr: to_uint8(run(tf.constant(lr, tf.float32) / 255.0).numpy())


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB ``imresize(lr, scale, 'bicubic')``: the baseline every SR table starts from."""
    return lambda lr: resize.imresize(lr, float(scale)).numpy()


def evaluate(upscalers: dict[str, Upscaler], images: Iterable[tuple[str, np.ndarray, np.ndarray]],
             scale: int, on_image: Callable | None = None) -> dict:
    """Mean and per-image PSNR / SSIM (Y, border = scale) of every upscaler on ``images``.

    Returns ``{MODEL: {"psnr", "ssim", "n_images", "per_image": {NAME: {"psnr", "ssim"}}}}``;
    ``on_image(name, model, sr)`` is called for every SR image (e.g. to save it).
    """
    per_image: dict[str, dict] = {name: {} for name in upscalers}
    for image_name, lr, hr in images:
        for model, upscale in upscalers.items():
            sr = upscale(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"{model} made {sr.shape} from {image_name}, expected {hr.shape}")
            per_image[model][image_name] = {"psnr": metrics.psnr(hr, sr, border=scale),
                                            "ssim": metrics.ssim(hr, sr, border=scale)}
            if on_image:
                on_image(image_name, model, sr)
    results = {}
    for model, scores in per_image.items():
        results[model] = {
            "psnr": metrics.mean_psnr([s["psnr"] for s in scores.values()]),
            "ssim": float(np.mean([s["ssim"] for s in scores.values()])) if scores else math.nan,
            "n_images": len(scores),
            "per_image": scores,
        }
    return results


def markdown_table(results: dict[str, dict[str, dict]]) -> str:
    """``{DATASET: {MODEL: {"psnr", "ssim"}}}`` as a Markdown table, datasets × models."""
    models = list(dict.fromkeys(m for per_model in results.values() for m in per_model))
    lines = ["| dataset | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for dataset, per_model in results.items():
        cells = [f"{per_model[m]['psnr']:.2f} dB / {per_model[m]['ssim']:.4f}" if m in per_model else "-"
                 for m in models]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
