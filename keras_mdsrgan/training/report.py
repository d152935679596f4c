"""The end of a run: saved generators, the final evaluation against bicubic and a sample image."""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_mdsrgan import files, names
from keras_mdsrgan.data import imageio
from keras_mdsrgan.quality import evaluation, ma, probe


def save_generators(generators: list[keras.Model], run_dir: str) -> None:
    """``generator_K.keras`` for every pair, each written atomically."""
    for k, g in enumerate(generators):
        files.atomic_write(os.path.join(run_dir, names.generator_file(k)), g.save)


def final_evaluation(
    generators: list[keras.Model],
    scale: int,
    run_dir: str,
    val_sets: dict[str, list],
    ma_model: ma.MaModel | None = None,
    discriminators: list[keras.Model] = (),
    hr_patch: int | None = None,
    pair_upscalers: list | None = None,
) -> dict:
    """Every pair and bicubic on every validation set (PI with ``ma_model``) into results.json /
    results.md, the discriminators' probe scores per set into results.json's "discriminators",
    and the first image's outputs into samples/. ``pair_upscalers`` (the validator's, already
    traced) run the generators when given."""
    pair_upscalers = pair_upscalers or [evaluation.generator_upscaler(g) for g in generators]
    upscalers = {"bicubic": evaluation.bicubic_upscaler(scale)}
    upscalers.update({names.pair_name(k): upscale for k, upscale in enumerate(pair_upscalers)})
    results, sample = {}, {}

    def keep_first(image_name, model, sr):  # each model's SR of the first image of the first set
        if sample.setdefault("name", image_name) == image_name and model not in sample:
            sample[model] = sr

    for i, (name, images) in enumerate(val_sets.items()):  # other sets may reuse its names (img_001)
        results[name] = evaluation.evaluate(
            upscalers, images, scale, on_image=None if i else keep_first, ma_model=ma_model
        )
    probes = (
        {name: probe.make_probe(images, scale, hr_patch) for name, images in val_sets.items()} if discriminators else {}
    )
    scored = {name: probe.discriminator_scores(generators, discriminators, p) for name, p in probes.items() if p}
    d_scores = {mode: {name: by_mode[mode] for name, by_mode in scored.items()} for mode in probe.MODES}
    files.write_json(
        os.path.join(run_dir, "results.json"),
        {
            "scale": scale,
            "results": results,
            "pi_note": evaluation.pi_note(ma_model),
            "discriminators": d_scores["batch"],
            "discriminators_inference": d_scores["inference"],
        },
    )
    files.write_text(os.path.join(run_dir, "results.md"), evaluation.markdown_table(results) + "\n")
    if sample:
        sample["hr"] = next(iter(val_sets.values()))[0][2]
        _save_sample(sample, os.path.join(run_dir, "samples"))
    return results


def _save_sample(sample: dict, folder: str) -> None:
    """Each model's SR of the first validation image, and all of them side by side with HR."""
    name = sample.pop("name")
    for model, image in sample.items():
        if model != "hr":
            imageio.write_image(os.path.join(folder, f"{name}_{model}.png"), image)
    imageio.write_image(os.path.join(folder, f"{name}_side_by_side.png"), np.concatenate(list(sample.values()), axis=1))
