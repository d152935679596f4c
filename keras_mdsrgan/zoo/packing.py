"""A trained run's best generator into the zoo, with a card measured at packing time.

The card is not typed in: the scores are ``evaluation.evaluate`` on the datasets given, with the
weights as they ship; the precision is float16 when that moves no dataset's PSNR by more than
``TOLERANCE_DB`` (measured against float32 here), else float32; steps, hours and machines come
from the run's ``validation.jsonl``; data from its ``config.json``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from keras_mdsrgan import names
from keras_mdsrgan.data import pipelines
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import registry, zoo
from keras_mdsrgan.quality import evaluation, metrics
from keras_mdsrgan.training.validation import BEST, read_history, training_seconds

TOLERANCE_DB = 0.01


def _rounded(model, dtype: str):
    """A copy of ``model`` whose weights went through ``dtype`` (what loading a zoo file gives)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights([w.astype(dtype).astype(np.float32) for w in model.get_weights()])
    return copy


def _read_json(path: str) -> dict:
    if not os.path.exists(path):
        raise UserError(f"{path}: not found (is this a finished training run?)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _count_images(specs: list[str]) -> int | None:
    try:
        return sum(len(pipelines.resolve_pairs(spec)) for spec in specs)
    except (UserError, OSError):
        return None  # e.g. a TFDS name: the card names the specs only


def measure_card(model, run_dir: str, pair: int, datasets: dict[str, str], verbose: bool = True) -> dict:
    """The card of ``model`` (the run's pair ``pair``): scores on ``datasets``, precision, training."""
    config = _read_json(os.path.join(run_dir, "config.json"))
    scale = int(config["data"]["scale"])
    upscalers = {
        "bicubic": evaluation.bicubic_upscaler(scale),
        "float32": evaluation.generator_upscaler(model),
        "float16": evaluation.generator_upscaler(_rounded(model, "float16")),
    }
    results = {}
    for dataset, spec in datasets.items():
        if verbose:
            print(f"scoring on {dataset} (float32, float16, bicubic)")
        results[dataset] = evaluation.evaluate(
            upscalers, pipelines.evaluation_images(spec, scale, check=metrics.require_scorable), scale
        )
    cost = max(abs(r["float16"]["psnr"] - r["float32"]["psnr"]) for r in results.values())
    dtype = "float16" if cost <= TOLERANCE_DB else "float32"
    history = read_history(run_dir)
    best = _read_json(os.path.join(run_dir, BEST, "best.json")).get(names.pair_name(pair), {})
    seconds = training_seconds(history)

    def scores(model_name):
        return {d: {k: r[model_name][k] for k in ("psnr", "ssim", "niqe")} for d, r in results.items()}

    return {
        "scale": scale,
        "architecture": registry.describe_generator(model),
        "parameters": int(model.count_params()),
        "dtype": dtype,
        "float16_cost_db": round(cost, 4),
        "scores": scores(dtype),
        "bicubic": scores("bicubic"),
        "loss": {k: config["loss"].get(k) for k in ("mode", "pixel_weight", "perceptual_weight", "adversarial_weight")},
        "training": {
            "step": best.get("step"),
            "steps_run": history[-1]["step"] if history else None,
            "chosen_by": best.get("by", "psnr"),
            "validation_psnr": best.get("psnr"),
            "validation_niqe": best.get("niqe"),
            "validation_pi": best.get("pi"),
            "curve": _curve(history, pair, "psnr"),
            "niqe_curve": _curve(history, pair, "niqe"),
            "pretrain_steps": config["train"].get("pretrain_steps"),
            "gan_steps": config["train"].get("gan_steps"),
            "data": config["data"]["train"],
            "images": _count_images(config["data"]["train"]),
            "hours": None if seconds is None else round(seconds / 3600, 2),
            "machines": sorted({r["machine"] for r in history if "machine" in r}),
        },
    }


def _curve(history: list[dict], pair: int, metric: str) -> list[list]:
    """[[step, value]] of one pair's validation ``metric`` (steps where it was measured), for the plots."""
    name = names.pair_name(pair)
    return [[r["step"], r[name][metric]] for r in history if r.get(name, {}).get(metric) is not None]


def pack_run(
    name: str, run_dir: str, datasets: dict[str, str], pair: int = 0, folder: str | None = None, verbose: bool = True
) -> tuple[str, dict]:
    """Pack the run's best generator of ``pair`` (``best/generator_K.keras``) as ``zoo:NAME``."""
    from keras_mdsrgan.model import inference

    source = os.path.join(run_dir, BEST, names.generator_file(pair))
    if not os.path.exists(source):
        raise UserError(f"{source}: not found (the run has no validated generator for pair {pair})")
    model = inference.load(source).model
    card = {"name": name, **measure_card(model, run_dir, pair, datasets, verbose)}
    target = os.path.join(folder or zoo.FOLDER, name + ".npz")
    zoo.pack(model, target, card["dtype"], card)
    return target, card
