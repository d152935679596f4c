"""Run generators over whole images and score them against HR: the library side of evaluation."""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from keras_mdsrgan import inference, metrics, resize

Upscaler = Callable[[np.ndarray], np.ndarray]  # uint8 LR (H, W, 3) -> uint8 SR (sH, sW, 3)


def generator_upscaler(generator) -> Upscaler:
    """Wrap a Keras generator (LR [0, 1] -> SR [0, 1]) as a uint8 image upscaler."""
    model = inference.KerasUpscaler(generator)
    return lambda lr: inference.upscale(model, lr)


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB ``imresize(lr, scale, 'bicubic')``: the baseline every SR table starts from."""
    return lambda lr: resize.imresize(lr, float(scale)).numpy()


PI_UNAVAILABLE = "PI = ((10 - Ma) + NIQE) / 2 needs the Ma et al. (2017) score, not implemented yet"


def niqe_or_none(sr: np.ndarray, scale: int) -> float | None:
    """NIQE with the border cropped, or None for images below two 96x96 blocks."""
    try:
        return metrics.niqe(sr, border=scale)
    except ValueError:
        return None


def score_image(hr: np.ndarray, sr: np.ndarray, scale: int, grey: bool = False) -> dict:
    """PSNR / SSIM (Y, or grey levels of a grey HR; border = scale) and NIQE (None below two
    96x96 blocks) of one SR image."""
    return {"psnr": metrics.psnr(hr, sr, border=scale, grey=grey),
            "ssim": metrics.ssim(hr, sr, border=scale, grey=grey),
            "niqe": niqe_or_none(sr, scale), "pi": None}


def summarize(per_image: dict[str, dict]) -> dict:
    """Mean scores over images (PSNR: finite values only; NIQE: images large enough only)."""
    niqes = [s["niqe"] for s in per_image.values() if s["niqe"] is not None]
    return {
        "psnr": metrics.mean_psnr([s["psnr"] for s in per_image.values()]),
        "ssim": float(np.mean([s["ssim"] for s in per_image.values()])) if per_image else math.nan,
        "niqe": float(np.mean(niqes)) if niqes else None,
        "pi": None,
        "n_images": len(per_image),
    }


def evaluate(upscalers: dict[str, Upscaler], images: Iterable[tuple[str, np.ndarray, np.ndarray, bool]],
             scale: int, on_image: Callable | None = None) -> dict:
    """Per-image and mean scores of every upscaler on ``images`` (one image in memory at a time).

    Returns ``{MODEL: {"psnr", "ssim", "niqe", "pi", "n_images", "per_image": {NAME: scores}}}``;
    ``on_image(name, model, sr)`` is called for every SR image (e.g. to save it).
    """
    per_image: dict[str, dict] = {name: {} for name in upscalers}
    for image_name, lr, hr, grey in images:
        for model, upscale in upscalers.items():
            sr = upscale(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"{model} made {sr.shape} from {image_name}, expected {hr.shape}")
            per_image[model][image_name] = score_image(hr, sr, scale, grey)
            if on_image:
                on_image(image_name, model, sr)
    return {model: {**summarize(scores), "per_image": scores} for model, scores in per_image.items()}


def markdown_table(results: dict[str, dict[str, dict]]) -> str:
    """``{DATASET: {MODEL: scores}}`` as a Markdown table, datasets × models, PSNR / SSIM / NIQE."""
    models = list(dict.fromkeys(m for per_model in results.values() for m in per_model))
    lines = ["| dataset | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for dataset, per_model in results.items():
        cells = [_cell(per_model[m]) if m in per_model else "-" for m in models]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return "PSNR (dB) / SSIM / NIQE, Y channel, border = scale\n\n" + "\n".join(lines)


def _cell(scores: dict) -> str:
    niqe = "n/a" if scores.get("niqe") is None else f"{scores['niqe']:.3f}"
    return f"{scores['psnr']:.2f} / {scores['ssim']:.4f} / {niqe}"
