"""Run generators over whole images and score them against HR: the library side of evaluation
(``evaluate.py`` is its command line: flags in, ``evaluate_datasets`` and a table out)."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Iterable

import numpy as np

from keras_mdsrgan import files, names
from keras_mdsrgan.data import imageio, pipelines, resize
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference
from keras_mdsrgan.quality import ma, metrics

Upscaler = Callable[[np.ndarray], np.ndarray]  # uint8 LR (H, W, 3) -> uint8 SR (sH, sW, 3)


def generator_upscaler(generator) -> Upscaler:
    """Wrap a Keras generator (LR [0, 1] -> SR [0, 1]) as a uint8 image upscaler."""
    model = inference.KerasUpscaler(generator)
    return lambda lr: inference.upscale(model, lr)


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB ``imresize(lr, scale, 'bicubic')``: the baseline every SR table starts from."""
    return lambda lr: resize.imresize(lr, float(scale)).numpy()


PI_UNAVAILABLE = (
    "PI = ((10 - Ma) + NIQE) / 2 unavailable: no Ma et al. (2017) model was given "
    "(--ma_model=PATH: model.mat of github.com/chaoma99/sr-metric or pyiqa's NRQM_model.mat)"
)


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


def score_image(
    hr: np.ndarray, sr: np.ndarray, scale: int, grey: bool = False, ma_model: ma.MaModel | None = None
) -> dict:
    """PSNR / SSIM (Y, or grey levels of a grey HR; border = scale), NIQE, Ma and PI of one SR
    image; None where a score is undefined (NIQE below two 96x96 blocks, Ma without a model)."""
    niqe, ma_score = niqe_or_none(sr, scale), ma_or_none(sr, scale, ma_model)
    return {
        "psnr": metrics.psnr(hr, sr, border=scale, grey=grey),
        "ssim": metrics.ssim(hr, sr, border=scale, grey=grey),
        "niqe": niqe,
        "ma": ma_score,
        "pi": None if niqe is None or ma_score is None else ma.perceptual_index(ma_score, niqe),
    }


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


def evaluate(
    upscalers: dict[str, Upscaler],
    images: Iterable[tuple[str, np.ndarray, np.ndarray, bool]],
    scale: int,
    on_image: Callable | None = None,
    ma_model: ma.MaModel | None = None,
) -> dict:
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


# --------------------------------------------------------------- benchmark sets on disk


class EvaluationError(UserError, ValueError):
    """Unusable evaluation input; the message names the file or flag."""


def parse_datasets(specs: list[str]) -> dict[str, str]:
    """``["Set5=HR[:LR]", ...]`` -> ``{"Set5": "HR[:LR]"}``."""
    datasets = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise EvaluationError(f"--datasets entry {spec!r} is not NAME=HR_DIR[:LR_DIR]")
        datasets[name] = path
    return datasets


def model_files(run_dir: str | None, models: list[str], model_names: list[str] | None = None) -> dict[str, str]:
    """Model name -> file: pairK for a run's generator_K.keras, distinct names for --models."""
    files = {}
    if run_dir:
        files = names.generator_files(run_dir)
        if not files:
            raise EvaluationError(f"{run_dir}: no generator_K.keras files (has the run finished?)")
    for path in models:
        if not os.path.exists(path):
            raise EvaluationError(f"{path}: no such model file")
    files.update(inference.label_models(models, model_names, taken=("bicubic", *files)))
    return files


def load_upscaler(path: str, scale: int, tile: int | None = None):
    """A uint8 upscaler from a .keras, SavedModel, .tflite or .onnx generator, checked against ``scale``."""
    model = inference.load(path)
    if inference.model_scale(model) != scale:
        raise EvaluationError(f"{path}: upscales by {inference.model_scale(model)}, not --scale={scale}")
    return lambda lr: inference.upscale(model, lr, tile=tile)


def write_csv(path: str, results: dict) -> None:
    """Per-image and mean scores, one row each: dataset, model, image, psnr, ssim, niqe, ma, pi."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["psnr", "ssim", "niqe", "ma", "pi"]
    writer.writerow(["dataset", "model", "image", *columns])
    for dataset, per_model in results.items():
        for model, scores in per_model.items():
            for image, s in [*scores["per_image"].items(), ("MEAN", scores)]:
                writer.writerow([dataset, model, image, *(s[c] for c in columns)])
    files.write_text(path, buffer.getvalue())


def evaluate_datasets(
    scale: int,
    datasets: dict[str, str],
    upscalers: dict,
    out: str,
    save_images: bool = False,
    max_images: int | None = None,
    verbose: bool = True,
    ma_model=None,
) -> dict:
    """Evaluate every upscaler on every dataset; write results.json / results.csv into ``out``."""
    import keras

    results = {}
    for dataset, spec in datasets.items():
        pairs = pipelines.resolve_pairs(spec)[:max_images]
        bar = keras.utils.Progbar(len(pairs), verbose=1 if verbose else 0, unit_name="image")
        if verbose:
            print(f"{dataset}: {len(pairs)} images x {len(upscalers)} models")

        def images(spec=spec, bar=bar):
            for i, image in enumerate(
                pipelines.evaluation_images(spec, scale, max_images, check=metrics.require_scorable)
            ):
                yield image
                bar.update(i + 1)

        def save(image_name, model, sr, dataset=dataset):
            imageio.write_image(os.path.join(out, dataset, model, f"{image_name}.png"), sr)

        results[dataset] = evaluate(
            upscalers, images(), scale, on_image=save if save_images else None, ma_model=ma_model
        )
    payload = {"scale": scale, "results": results, "pi_note": pi_note(ma_model)}
    files.write_json(os.path.join(out, "results.json"), payload)
    write_csv(os.path.join(out, "results.csv"), results)
    return results
