"""The export itself, without the command line: choose a generator, write its formats, check them.

``mdsrgan-export`` (``keras_mdsrgan/export/__main__.py``) reads its flags into an ``ExportOptions``
and calls ``choose_generator`` then ``export_generator``, which also writes the manifest and the
model card. TensorFlow is imported inside the functions, so
that the command line can silence its start-up chatter first (``cli.quiet_tensorflow``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import statistics
import tempfile
import time

from keras_mdsrgan import files, names
from keras_mdsrgan.errors import UserError

# saved_model, tflite.FORMATS, onnx (spelled out: importing tflite loads TensorFlow). ONNX is not a
# default: it needs the optional packages of keras-mdsrgan[onnx].
FORMATS = ("saved_model", "tflite_fp32", "tflite_fp16", "tflite_int8_dynamic", "tflite_int8", "onnx")
DEFAULT_FORMATS = FORMATS[:-1]
# Fixed, so that exporting the same generator twice gives the same int8 model.
CALIBRATION_SEED = 1234
# A TFLite file must hold at least this share of its weights' bytes. The slack is for parameters
# the converter folds or stores more compactly; the failure it catches (weights lost, NaN
# output, see tflite.check_model) leaves a file far below it.
MIN_WEIGHT_FRACTION = 0.9
# LiteRT and onnxruntime threads in the parity run: the thread count of the latency figures in
# docs/PERFORMANCE.md and the README, so that manifest latencies compare with them and across
# machines instead of depending on the export machine's core count.
PARITY_THREADS = 2
_BYTES_PER_WEIGHT = {"tflite_fp32": 4, "tflite_fp16": 2, "onnx": 4}  # the int8 formats: 1


class ExportInputError(UserError, ValueError):
    """A bad --run_dir / --model / --formats; the message names it."""


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """What to write and what to check it on; the defaults are the command line's."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    name: str = "mdsrgan"  # model name in the TF Serving layout
    version: int = 1  # model version in the TF Serving layout
    calibration_data: tuple[str, ...] = ("sample:train",)  # training sets for int8 calibration
    calibration_samples: int = 64  # LR calibration patches
    calibration_patch: int = 32  # LR side of a calibration patch
    parity_data: str = "sample:val"  # images (folder, HR:LR or sample:) for parity checks
    parity_images: int = 5  # images used for parity checks
    license: str = "other"  # the model card's licence id (Hugging Face's list); other: none chosen

    def __post_init__(self):
        """Unknown formats, or ONNX without its packages, are refused here, before any model is loaded."""
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ExportInputError(f"unknown --formats {unknown}; choose from {', '.join(FORMATS)}")
        if "onnx" in self.formats:
            from keras_mdsrgan.export import onnxmodel

            onnxmodel.require("--formats=onnx")


def choose_generator(run_dir: str | None, pair: int | None, model: str | None) -> tuple[str, dict]:
    """The generator file to export and a description of where it came from."""
    if bool(run_dir) == bool(model):
        raise ExportInputError("give exactly one of --run_dir and --model")
    if model:
        from keras_mdsrgan.model import zoo

        if zoo.is_zoo(model):  # a shipped generator: its card goes into the manifest and MODEL_CARD.md
            return model, {"model": model, "zoo": zoo.info(model)}
        if not os.path.isfile(model):
            raise ExportInputError(f"{model}: no such file")
        return model, {"model": os.path.abspath(model)}
    if pair is None:
        pair, psnr = best_pair(run_dir)
        source = {"run_dir": os.path.abspath(run_dir), "pair": pair, "chosen_by": f"validation PSNR {psnr:.3f} dB"}
    else:
        source = {"run_dir": os.path.abspath(run_dir), "pair": pair, "chosen_by": "--pair"}
    path = os.path.join(run_dir, names.generator_file(pair))
    if not os.path.isfile(path):
        raise ExportInputError(f"{path}: no such generator (has the run finished?)")
    return path, source


def best_pair(run_dir: str) -> tuple[int, float]:
    """The pair with the highest mean PSNR over the run's validation sets."""
    path = os.path.join(run_dir, "results.json")
    try:
        with open(path) as f:
            results = json.load(f)["results"]
    except (OSError, ValueError, KeyError) as err:
        raise ExportInputError(f"{path}: cannot read validation results ({err}); pass --pair") from None
    scores = {}
    for per_model in results.values():
        for model, s in per_model.items():
            k = names.pair_index(model)
            if k is not None:
                scores.setdefault(k, []).append(s["psnr"])
    if not scores:
        raise ExportInputError(f"{path}: no pairK results; pass --pair")
    best = max(scores, key=lambda k: statistics.mean(scores[k]))
    return best, statistics.mean(scores[best])


def representative_patches(specs, scale: int, samples: int, patch: int):
    """A generator of [LR patch] lists in [0, 1] for int8 calibration (fixed seed)."""
    from keras_mdsrgan.data import pipelines

    store = pipelines.build_training_store(specs, scale, patch * scale, skip_bad_files=True)
    dataset = pipelines.training_dataset(store, patch, 1, seed=CALIBRATION_SEED).take(samples)

    def generate():
        for lr, _ in dataset:
            yield [lr.numpy()]

    return generate


def parity(upscalers: dict, reference, images: list, scale: int) -> dict:
    """PSNR vs the Keras output (RGB), its largest difference in grey levels, PSNR vs HR (Y, border =
    scale), and median latency."""
    import numpy as np

    from keras_mdsrgan.model import inference
    from keras_mdsrgan.quality import metrics

    keras_outputs = [inference.upscale(reference, lr) for _, lr, _, _ in images]
    report = {}
    for name, upscaler in upscalers.items():
        vs_keras, vs_hr, times, max_diff = [], [], [], 0
        for (_, lr, hr, grey), keras_sr in zip(images, keras_outputs):
            sr = inference.upscale(upscaler, lr)  # warm-up: tracing, tensor allocation
            for _ in range(3):
                start = time.perf_counter()
                inference.upscale(upscaler, lr)
                times.append(1000 * (time.perf_counter() - start))
            vs_keras.append(metrics.psnr(keras_sr, sr, y_only=False))
            max_diff = max(max_diff, int(np.abs(sr.astype(np.int16) - keras_sr).max()))
            vs_hr.append(metrics.psnr(hr, sr, border=scale, grey=grey))
        report[name] = {
            "psnr_vs_keras_db": _finite(metrics.mean_psnr(vs_keras), vs_keras),
            "max_abs_diff_vs_keras": max_diff,
            "psnr_vs_hr_db": metrics.mean_psnr(vs_hr),
            "latency_ms_median": statistics.median(times),
        }
    return report


def _finite(mean: float, values: list[float]):
    """Identical outputs have PSNR inf: report that as the string "inf" (JSON has no inf)."""
    return "inf" if all(math.isinf(v) for v in values) else mean


def load_generator(path: str):
    """The Keras upscaler of a generator file; anything else is an ExportInputError."""
    from keras_mdsrgan.model import inference

    upscaler = inference.load(path)  # unreadable files: a one-line ModelLoadError
    if not isinstance(upscaler, inference.KerasUpscaler):
        raise ExportInputError(f"{path}: not a Keras generator (.keras); only those can be exported")
    return upscaler


def export_generator(generator_path: str, source: dict, out: str, options: ExportOptions) -> dict:
    """Write ``options.formats`` of the generator into ``out``, ``out/manifest.json`` (returned) and
    ``out/MODEL_CARD.md``."""
    from keras_mdsrgan.data import pipelines
    from keras_mdsrgan.export import modelcard
    from keras_mdsrgan.model import inference
    from keras_mdsrgan.quality import metrics

    reference = load_generator(generator_path)
    generator = reference.model
    scale = inference.model_scale(reference)
    images = list(
        pipelines.evaluation_images(options.parity_data, scale, options.parity_images, check=metrics.require_scorable)
    )
    os.makedirs(out, exist_ok=True)
    parameters = int(generator.count_params())
    written = {}  # format -> (manifest entry, upscaler)
    if "saved_model" in options.formats:
        written["saved_model"] = _write_saved_model(generator, out, options)
    kinds = [f for f in options.formats if f.startswith("tflite_")]
    if kinds:
        written.update(_write_tflite(generator, kinds, out, options, scale, parameters))
    if "onnx" in options.formats:
        written["onnx"] = _write_onnx(generator, out, parameters)
    upscalers = {"keras": reference, **{kind: upscaler for kind, (_, upscaler) in written.items()}}
    manifest = {
        "scale": scale,
        "receptive_radius_lr": reference.radius,
        "source": source,
        "parameters": parameters,
        **_specs(scale),
        "files": {kind: entry for kind, (entry, _) in written.items()},
        "parity": {
            "images": options.parity_data,
            "n_images": len(images),
            **parity(upscalers, reference, images, scale),
        },
    }
    files.write_json(os.path.join(out, "manifest.json"), manifest)
    modelcard.write(out, manifest, generator, options.license)
    return manifest


def _specs(scale: int) -> dict:
    """The manifest's input/output description of the SavedModel signatures, TFLite and ONNX files."""
    from keras_mdsrgan.export import onnxmodel

    return {
        "saved_model": {
            "signatures": {
                "serving_default": {
                    "inputs": {"lr": "uint8 [batch, height, width, 3]"},
                    "outputs": {"sr": f"uint8 [batch, {scale}*height, {scale}*width, 3]"},
                },
                "serving_float": {
                    "inputs": {"lr": "float32 [batch, height, width, 3] in [0, 1]"},
                    "outputs": {"sr": f"float32 [batch, {scale}*height, {scale}*width, 3]"},
                },
                "serving_bytes": {
                    "inputs": {"lr_bytes": "string [batch]: PNG, JPEG, GIF, BMP or WebP files, any size each"},
                    "outputs": {"sr_bytes": "string [batch]: PNG files (uint8 RGB, as serving_default)"},
                },
            }
        },
        "tflite": {
            "inputs": {"lr": "float32 [1, height, width, 3] in [0, 1]; resize_tensor_input for any size"},
            "outputs": {"sr": f"float32 [1, {scale}*height, {scale}*width, 3]"},
        },
        "onnx": {
            "opset": onnxmodel.OPSET,
            "inputs": {"lr": "float32 [batch, 3, height, width] in [0, 1], RGB (NCHW)"},
            "outputs": {"sr": f"float32 [batch, 3, {scale}*height, {scale}*width], not clipped"},
        },
    }


def _write_saved_model(generator, out: str, options: ExportOptions) -> tuple[dict, object]:
    """OUT/saved_model/NAME/VERSION for TF Serving: its manifest entry and its upscaler."""
    from keras_mdsrgan.export import savedmodel
    from keras_mdsrgan.model import inference

    path = os.path.join(out, "saved_model", options.name, str(options.version))
    savedmodel.write_serving_model(generator, path)
    entry = {"path": os.path.relpath(path, out), "bytes": _folder_bytes(path)}
    return entry, inference.SavedModelUpscaler(path)


def _write_tflite(generator, kinds: list[str], out: str, options: ExportOptions, scale: int, parameters: int) -> dict:
    """OUT/generator_KIND.tflite for each of ``kinds``, checked: kind -> (manifest entry, upscaler)."""
    from keras_mdsrgan.export import savedmodel, tflite
    from keras_mdsrgan.model import inference

    written = {}
    work = tempfile.mkdtemp(prefix=".core-", dir=out)
    try:
        core = os.path.join(work, "core")
        savedmodel.write_core_model(generator, core)
        calibration = (
            representative_patches(
                options.calibration_data, scale, options.calibration_samples, options.calibration_patch
            )
            if "tflite_int8" in kinds
            else None
        )
        for kind in kinds:
            model = tflite.convert(core, kind, calibration)
            weight_bytes = parameters * _BYTES_PER_WEIGHT.get(kind, 1)
            ops = tflite.check_model(model, int(MIN_WEIGHT_FRACTION * weight_bytes))
            path = os.path.join(out, f"generator_{kind[len('tflite_') :]}.tflite")
            files.write_text(path, model, mode="wb")
            entry = {"path": os.path.basename(path), "bytes": len(model), "ops": ops}
            written[kind] = entry, inference.TFLiteUpscaler(path, num_threads=PARITY_THREADS)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written


def _write_onnx(generator, out: str, parameters: int) -> tuple[dict, object]:
    """OUT/generator.onnx, checked: its manifest entry and its upscaler."""
    from keras_mdsrgan.export import onnxmodel
    from keras_mdsrgan.model import inference

    model = onnxmodel.convert(generator)
    ops = onnxmodel.check_model(model, int(MIN_WEIGHT_FRACTION * parameters * _BYTES_PER_WEIGHT["onnx"]))
    path = os.path.join(out, "generator.onnx")
    files.write_text(path, model, mode="wb")
    entry = {
        "path": os.path.basename(path),
        "bytes": len(model),
        "opset": onnxmodel.OPSET,
        "ops": ops,
        **onnxmodel.versions(),
    }
    return entry, inference.OnnxUpscaler(path, num_threads=PARITY_THREADS)


def _folder_bytes(path: str) -> int:
    """Total size of the files under ``path``."""
    return sum(
        os.path.getsize(os.path.join(root, name)) for root, _, file_names in os.walk(path) for name in file_names
    )
