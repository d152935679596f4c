"""MODEL_CARD.md beside every export: Hugging Face style YAML front matter, then what a user needs.

The card is made from what the export measured (the manifest: formats, sizes, parity, latency)
and, for ``--run_dir`` exports, from the run's own files: ``config.json`` and ``flags.cfg``
(training data and settings) and ``results.json`` (the final evaluation, per dataset); for a
``zoo:NAME`` export, from the card packed with the zoo model (training, scores). It states only
what those say; a ``--model`` export of a file says that its training is unknown.
"""

from __future__ import annotations

import json
import os

from keras_mdsrgan import files, names
from keras_mdsrgan.model import registry

PAPER = (
    'Lee & Park, "Performance Improvement of SRGAN\'s Discriminator via Mutual Distillation", '
    "J. Inst. Convergence Signal Processing 23(3), 2022"
)
_METRICS = (("psnr", "PSNR (Y, dB)"), ("ssim", "SSIM (Y)"), ("niqe", "NIQE"), ("pi", "PI"))
# Published PSNR (Y, border = scale) on Set5 / Set14, the ladder a zoo model is placed on: FSRCNN
# (Dong et al., ECCV 2016), VDSR trained on the same 291 images (Kim et al., CVPR 2016), SRResNet
# trained on ImageNet for 10^6 steps (Ledig et al., CVPR 2017).
PUBLISHED = {
    2: {"bicubic": (33.66, 30.24), "FSRCNN": (37.00, 32.63), "VDSR (291 images)": (37.53, 33.03)},
    4: {
        "bicubic": (28.42, 26.00),
        "FSRCNN": (30.55, 27.50),
        "VDSR (291 images)": (31.35, 28.01),
        "SRResNet (ImageNet)": (32.05, 28.49),
    },
}


def read_run(run_dir: str | None) -> dict:
    """The run's config.json, flags.cfg and results.json that exist (parsed), keyed by file name."""
    found = {}
    for name in ("config.json", "flags.cfg", "results.json") if run_dir else ():
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            with open(path) as f:
                found[name] = json.load(f) if name.endswith(".json") else f.read()
    return found


def write(out: str, manifest: dict, generator, license_id: str) -> str:
    """Write ``out/MODEL_CARD.md`` for an export whose manifest is ``manifest``; return its path."""
    source = manifest["source"]
    run = read_run(source.get("run_dir"))
    pair = source.get("pair")
    model_name = f"mdsrgan-x{manifest['scale']}" + (f"-pair{pair}" if pair is not None else "")
    results = run.get("results.json", {}).get("results", {})
    shipped = source.get("zoo")
    if shipped:  # a zoo model: its packed scores, as a one-pair results table
        model_name, pair = f"mdsrgan-{shipped.get('name', 'zoo')}", 0
        results = {
            dataset: {names.pair_name(0): scores, "bicubic": shipped.get("bicubic", {}).get(dataset, {})}
            for dataset, scores in shipped.get("scores", {}).items()
        }
    front = {
        "license": license_id,
        "library_name": "keras",
        "pipeline_tag": "image-to-image",
        "tags": [
            "super-resolution",
            "srgan",
            "mutual-distillation",
            "tensorflow",
            "keras",
            *sorted({kind.split("_")[0] for kind in manifest["files"] if kind != "saved_model"}),
        ],
        "model-index": [{"name": model_name, "results": _index_results(results, pair, manifest["scale"])}],
    }
    sections = [
        f"# {model_name}\n\n{_summary(manifest, source)}",
        _model_section(manifest, generator),
        _formats_section(manifest),
        _zoo_training_section(shipped) if shipped else _training_section(run),
        _evaluation_section(results, pair, shipped and f"zoo:{shipped.get('name')}"),
        *([_ladder_section(shipped, manifest["scale"])] if shipped and manifest["scale"] in PUBLISHED else []),
        _use_section(manifest["scale"]),
        _limitations_section(run, source),
        _licence_section(license_id),
    ]
    path = os.path.join(out, "MODEL_CARD.md")
    files.write_text(path, "\n".join(["---", *_yaml(front), "---", ""]) + "\n" + "\n\n".join(sections) + "\n")
    return path


def _yaml(value, indent: int = 0) -> list[str]:
    """Block-style YAML lines of nested dicts and lists; scalars as JSON, which YAML reads."""
    pad, lines = " " * indent, []
    for key, item in value.items() if isinstance(value, dict) else ((None, v) for v in value):
        nested = isinstance(item, (dict, list)) and item
        if key is None and nested:  # "- first: ..." with the rest aligned under "first"
            inner = _yaml(item, indent + 2)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        elif nested:
            lines += [f"{pad}{key}:", *_yaml(item, indent + 2)]
        else:
            lines.append(f"{pad}{'-' if key is None else f'{key}:'} {json.dumps(item, ensure_ascii=False)}")
    return lines


def _index_results(results: dict, pair: int | None, scale: int) -> list[dict]:
    """model-index entries: the exported pair's metrics per dataset of results.json."""
    entries = []
    for dataset, per_model in results.items():
        scores = per_model.get(names.pair_name(pair), {}) if pair is not None else {}
        metrics = [
            {"type": key, "name": label, "value": round(scores[key], 4)}
            for key, label in _METRICS
            if isinstance(scores.get(key), (int, float))
        ]
        if metrics:
            entries.append(
                {
                    "task": {"type": "image-to-image", "name": f"Super-resolution x{scale}"},
                    "dataset": {"type": dataset, "name": dataset},
                    "metrics": metrics,
                }
            )
    return entries


def _summary(manifest: dict, source: dict) -> str:
    if "run_dir" in source:
        origin = f"pair {source['pair']} of the training run `{source['run_dir']}` (chosen by {source['chosen_by']})"
    elif "zoo" in source:
        origin = f"`{source['model']}`, a generator shipped with keras_mdsrgan (`python -m keras_mdsrgan.zoo`)"
    else:
        origin = f"the generator file `{source['model']}`"
    return (
        f"An x{manifest['scale']} super-resolution generator trained with keras_mdsrgan: SRGANs whose "
        f"discriminators teach each other by mutual distillation ({PAPER}). Exported from {origin}."
    )


def _model_section(manifest: dict, generator) -> str:
    scale = manifest["scale"]
    return "\n".join(
        [
            "## Model",
            "",
            "| | |",
            "|---|---|",
            f"| scale | x{scale} |",
            f"| architecture | {registry.describe_generator(generator)} |",
            f"| parameters | {manifest['parameters']:,} |",
            f"| receptive radius | {manifest['receptive_radius_lr']} LR pixels (tiles overlap by this much) |",
            "| input | RGB, any height and width; uint8, or float32 in [0, 1] (see the formats) |",
            f"| output | RGB, {scale}× height and width |",
        ]
    )


def _formats_section(manifest: dict) -> str:
    parity = manifest["parity"]
    rows = [
        "## Formats",
        "",
        f"Checked by the export on {parity['n_images']} image(s) of `{parity['images']}`: the output of "
        "each file against the Keras generator's (PSNR on RGB, and the largest difference in grey levels), "
        "against HR (PSNR on Y), and the median latency per image on the export machine.",
        "",
        "| format | file | size | vs Keras (dB) | max diff vs Keras | vs HR (dB) | latency (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, scores in parity.items():
        if not isinstance(scores, dict):
            continue
        entry = manifest["files"].get(kind, {})
        size = f"{entry['bytes'] / 1e6:.2f} MB" if "bytes" in entry else ""
        vs_keras = scores["psnr_vs_keras_db"]
        rows.append(
            f"| {kind} | {entry.get('path', '(source .keras)')} | {size} | "
            f"{vs_keras if isinstance(vs_keras, str) else f'{vs_keras:.2f}'} | "
            f"{scores.get('max_abs_diff_vs_keras', 0)} | {scores['psnr_vs_hr_db']:.2f} | "
            f"{scores['latency_ms_median']:.1f} |"
        )
    rows += ["", "Inputs and outputs of each format are in `manifest.json` (`saved_model`, `tflite`, `onnx`)."]
    return "\n".join(rows)


def _training_section(run: dict) -> str:
    config = run.get("config.json")
    if not config:
        return (
            "## Training\n\nNot known to the exporter: this export was made from a `.keras` file "
            "(`--model`). Export with `--run_dir` to record the run's data, settings and results here."
        )
    data, model, loss, train = (config.get(k, {}) for k in ("data", "model", "loss", "train"))
    rows = [
        "## Training",
        "",
        f"- training data: {', '.join(f'`{s}`' for s in data.get('train', []))}; LR made by MATLAB-style "
        f"bicubic downscaling by {data.get('scale')}; HR patches {data.get('hr_patch')}², "
        f"batch {data.get('batch_size')}",
        f"- validation sets: {', '.join(f'`{s}`' for s in data.get('val', []))}",
        f"- cohort: {model.get('num_pairs')} pairs, mode `{loss.get('mode')}` "
        f"(λ = {loss.get('distill_weight')}, T = {loss.get('temperature')})",
        f"- steps: {train.get('pretrain_steps')} MSE pre-training, {train.get('gan_steps')} GAN",
        f"- generator loss: pixel {loss.get('pixel_weight')}, perceptual (VGG19 `{loss.get('perceptual_layer')}`)"
        f" {loss.get('perceptual_weight')}, adversarial {loss.get('adversarial_weight')}",
    ]
    if run.get("flags.cfg"):
        rows += ["", "The flags of the run (`flags.cfg`):", "", "```", run["flags.cfg"].rstrip("\n"), "```"]
    return "\n".join(rows)


def _chosen(training: dict) -> str:
    """How the shipped step was chosen, on the validation split held out from the training images."""
    held_out = "on a validation split held out from the training images"
    by = training.get("chosen_by", "psnr")
    if by == "psnr":
        return f"the best PSNR {held_out} ({training.get('validation_psnr', 0):.2f} dB)"
    return (
        f"the lowest {by.upper()} {held_out} ({training.get(f'validation_{by}', 0):.3f}; "
        f"its PSNR {training.get('validation_psnr', 0):.2f} dB)"
    )


def _zoo_training_section(card: dict) -> str:
    training = card.get("training", {})
    rows = [
        "## Training",
        "",
        f"- training data: {', '.join(f'`{s}`' for s in training.get('data', []))} "
        f"({training.get('images')} images); LR made by MATLAB-compatible bicubic downscaling",
        f"- kept: the generator of step {training.get('step')} of {training.get('steps_run')}, {_chosen(training)}",
        f"- compute: {training.get('hours')} h on {', '.join(training.get('machines', [])) or 'an unrecorded machine'}",
        f"- weights shipped as {card.get('dtype')} (costing {card.get('float16_cost_db')} dB against float32)",
        "- recipe: the package's `flags/zoo_*.cfg` and docs/MODELS.md",
    ]
    return "\n".join(rows)


def _evaluation_section(results: dict, pair: int | None, label: str | None = None) -> str:
    if not results or pair is None:
        return "## Evaluation\n\nNo results: the export had no run's `results.json` to report."
    rows = [
        "## Evaluation",
        "",
        (
            "Measured when the model was packed, with its weights as shipped"
            if label
            else "The training run's final evaluation (`results.json`)"
        )
        + ": PSNR and SSIM on the Y channel with `scale` border pixels cropped, NIQE, and PI where a "
        "Ma model was given.",
        "",
        "| dataset | model | PSNR (dB) | SSIM | NIQE | PI |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, per_model in results.items():
        for model in (names.pair_name(pair), "bicubic"):
            if model in per_model:
                s = per_model[model]
                cells = [
                    f"{s[k]:.4f}" if isinstance(s.get(k), (int, float)) else "n/a"
                    for k in ("psnr", "ssim", "niqe", "pi")
                ]
                shown = label if label and model != "bicubic" else model
                rows.append(f"| {dataset} | {shown} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _ladder_section(card: dict, scale: int) -> str:
    """The zoo model's Set5 / Set14 PSNR beside the published ladder at its scale."""
    published = PUBLISHED[scale]
    mine = tuple(card.get("scores", {}).get(d, {}).get("psnr") for d in ("Set5", "Set14"))
    rows = [
        "## Against published results",
        "",
        f"PSNR (dB, Y, border {scale}) at x{scale}, Set5 / Set14; the others' figures are from their papers.",
        "",
        "| " + " | ".join(["", *published, f"zoo:{card.get('name')}"]) + " |",
        "|" + "---|" * (len(published) + 2),
        "| Set5 / Set14 | "
        + " | ".join(f"{a:.2f} / {b:.2f}" for a, b in published.values())
        + " | "
        + " / ".join("n/a" if v is None else f"{v:.2f}" for v in mine)
        + " |",
    ]
    return "\n".join(rows)


def _use_section(scale: int) -> str:
    return (
        "## Intended use\n\n"
        f"Upscaling RGB images by {scale}× where the low-resolution image was made like the training "
        "data (bicubic downscaling of a clean photo), and research on mutual distillation between SRGAN "
        "discriminators. Run it with `mdsrgan-upscale --model=FILE` (any format here), TF Serving "
        "(`saved_model/`), LiteRT (`.tflite`) or onnxruntime (`.onnx`)."
    )


def _limitations_section(run: dict, source: dict) -> str:
    config = run.get("config.json", {})
    data, loss = config.get("data", {}), config.get("loss") or source.get("zoo", {}).get("loss", {})
    gan_steps = config.get("train", {}).get("gan_steps", source.get("zoo", {}).get("training", {}).get("gan_steps"))
    items = [
        "Trained on bicubic degradation only: camera noise, blur and JPEG artefacts are outside its "
        "training distribution and are sharpened rather than removed."
    ]
    if gan_steps == 0:
        items.append(
            "PSNR-oriented: trained by pixel loss alone (no GAN stage), so fine texture comes out "
            "smooth rather than invented; for sharper texture use a GAN-trained model."
        )
    else:
        items.append(
            "A GAN generator invents plausible texture: do not use its output as evidence of detail "
            "(forensics, medical or satellite imagery)."
        )
    if loss.get("perceptual_weight") == 0 and gan_steps != 0:
        items.append(
            "Trained without the VGG perceptual loss (no ImageNet VGG19 weights): its outputs are "
            "closer to a pixel-loss SRResNet than to SRGAN's textures."
        )
    elif loss.get("vgg_weights") == "random":
        items.append("The perceptual loss used a randomly initialised VGG19 (a test setting), not ImageNet weights.")
    if data.get("train") and all(str(s).startswith("sample:") for s in data["train"]):
        items.append(
            "Trained on the few scikit-image sample photos (the quickstart): a pipeline check, "
            "not a model for real use."
        )
    train_data = config.get("data", {}).get("train") or source.get("zoo", {}).get("training", {}).get("data", [])
    if any("bsd" in str(spec).lower() for spec in train_data):
        items.append(
            "Trained partly on BSD images (the Berkeley Segmentation Dataset, BSD300): they are "
            "licensed for non-commercial research and education; check those terms before commercial use."
        )
    if "zoo" in source:
        items.append(
            "The checkpoint was chosen on a split held out from the training images, never on the "
            "reported test sets; the scores above are still only those of a few benchmark images."
        )
    if str(source.get("chosen_by", "")).startswith("validation"):
        items.append(
            "The pair was chosen by its validation PSNR, so its scores on those validation sets are "
            "optimistic: compare on images not used for the choice."
        )
    return "## Limitations\n\n" + "\n".join(f"- {item}" for item in items)


def _licence_section(license_id: str) -> str:
    return (
        "## Licence\n\n"
        f"`{license_id}` (the front matter's `license`, set by `--license` at export"
        + (
            "; `other` means none was chosen: ask the model's owner before redistributing it"
            if license_id == "other"
            else ""
        )
        + "). The weights also carry the terms of their training images' licences."
    )
