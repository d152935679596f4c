"""Run generators over whole images and score them against HR: the library side of evaluation."""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from keras_mdsrgan import inference, ma, metrics, resize

Upscaler = Callable[[np.ndarray], np.ndarray]  # uint8 LR (H, W, 3) -> uint8 SR (sH, sW, 3)


def generator_upscaler(generator) -> Upscaler:
    """Wrap a Keras generator (LR [0, 1] -> SR [0, 1]) as a uint8 image upscaler."""
    model = inference.KerasUpscaler(generator)
    return lambda lr: inference.upscale(model, lr)


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB ``imresize(lr, scale, 'bicubic')``: the baseline every SR table starts from."""
    return lambda lr: resize.imresize(lr, float(scale)).numpy()


PI_UNAVAILABLE = ("PI = ((10 - Ma) + NIQE) / 2 unavailable: no Ma et al. (2017) model was given "
                  "(--ma_model=PATH: model.mat of github.com/chaoma99/sr-metric or pyiqa's NRQM_model.mat)")


def pi_note(ma_model: ma.MaModel | None) -> str | None:
    """Why PI is null, or None when it is computed."""
    return PI_UNAVAILABLE if ma_model is None else None


def niqe_or_none(sr: np.ndarray, scale: int) -> float | None:
    """NIQE with the border cropped, or None for images below two 96x96 blocks."""
    try:
        return metrics.niqe(sr, border=scale)
    except ValueError:
        return None


def ma_or_none(sr: np.ndarray, scale: int, ma_model: ma.MaModel | None) -> float | None:
    """Ma score of the rounded Y with the border cropped (as the PIRM scripts), or None without
    a model, below the score's minimum size or where it is undefined (flat images)."""
    if ma_model is None:
        return None
    try:
        return ma.ma_score(metrics.rgb_to_y(sr, rounded=True)[scale:-scale, scale:-scale], ma_model)
    except ValueError:
        return None


def score_image(hr: np.ndarray, sr: np.ndarray, scale: int, grey: bool = False,
                ma_model: ma.MaModel | None = None) -> dict:
    """PSNR / SSIM (Y, or grey levels of a grey HR; border = scale), NIQE, Ma and PI of one SR
    image; None where a score is undefined (NIQE below two 96x96 blocks, Ma without a model)."""
    niqe, ma_score = niqe_or_none(sr, scale), ma_or_none(sr, scale, ma_model)
    return {"psnr": metrics.psnr(hr, sr, border=scale, grey=grey),
            "ssim": metrics.ssim(hr, sr, border=scale, grey=grey),
            "niqe": niqe, "ma": ma_score,
            "pi": None if niqe is None or ma_score is None else ma.perceptual_index(ma_score, niqe)}


def _mean_defined(values) -> float | None:
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def summarize(per_image: dict[str, dict]) -> dict:
    """Mean scores over images (PSNR: finite values only; NIQE, Ma, PI: where defined)."""
    scores = per_image.values()
    return {
        "psnr": metrics.mean_psnr([s["psnr"] for s in scores]),
        "ssim": float(np.mean([s["ssim"] for s in scores])) if per_image else math.nan,
        **{key: _mean_defined(s[key] for s in scores) for key in ("niqe", "ma", "pi")},
        "n_images": len(per_image),
    }


def evaluate(upscalers: dict[str, Upscaler], images: Iterable[tuple[str, np.ndarray, np.ndarray, bool]],
             scale: int, on_image: Callable | None = None, ma_model: ma.MaModel | None = None) -> dict:
    """Per-image and mean scores of every upscaler on ``images`` (one image in memory at a time).

    Returns ``{MODEL: {"psnr", "ssim", "niqe", "ma", "pi", "n_images", "per_image": {NAME: scores}}}``
    (Ma and PI need ``ma_model``); ``on_image(name, model, sr)`` is called for every SR image.
    """
    per_image: dict[str, dict] = {name: {} for name in upscalers}
    for image_name, lr, hr, grey in images:
        for model, upscale in upscalers.items():
            sr = upscale(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"{model} made {sr.shape} from {image_name}, expected {hr.shape}")
            per_image[model][image_name] = score_image(hr, sr, scale, grey, ma_model)
            if on_image:
                on_image(image_name, model, sr)
    return {model: {**summarize(scores), "per_image": scores} for model, scores in per_image.items()}


def markdown_table(results: dict[str, dict[str, dict]]) -> str:
    """``{DATASET: {MODEL: scores}}`` as a Markdown table, datasets × models, PSNR / SSIM / NIQE / PI."""
    models = list(dict.fromkeys(m for per_model in results.values() for m in per_model))
    lines = ["| dataset | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for dataset, per_model in results.items():
        cells = [_cell(per_model[m]) if m in per_model else "-" for m in models]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return "PSNR (dB) / SSIM / NIQE / PI, Y channel, border = scale\n\n" + "\n".join(lines)


def _cell(scores: dict) -> str:
    niqe, pi = ("n/a" if scores.get(k) is None else f"{scores[k]:.3f}" for k in ("niqe", "pi"))
    return f"{scores['psnr']:.2f} / {scores['ssim']:.4f} / {niqe} / {pi}"
