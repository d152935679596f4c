"""Export a trained generator for TF Serving and TFLite.

  python -m export (--run_dir=DIR [--pair=K] | --model=GEN.keras) --out=DIR \
      --formats=saved_model,tflite_fp32,tflite_fp16,tflite_int8_dynamic,tflite_int8

Writes OUT/saved_model/NAME/VERSION/ (the layout TF Serving loads), OUT/generator_FORMAT.tflite
and OUT/manifest.json (scale, input/output spec, source, sizes, parity with Keras, latency).
Without --pair, a run's best pair by validation PSNR (its results.json) is exported.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from absl import app, flags

from keras_mdsrgan import cli, files
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A training run directory.")
flags.DEFINE_integer("pair", None, "Which pair of the run (default: best validation PSNR).", lower_bound=0)
flags.DEFINE_string("model", None, "A generator .keras file (instead of --run_dir).")
flags.DEFINE_string("out", None, "Output folder.")
flags.DEFINE_list("formats", ["saved_model", "tflite_fp32", "tflite_fp16", "tflite_int8_dynamic", "tflite_int8"],
                  "What to write.")
flags.DEFINE_string("name", "mdsrgan", "Model name in the TF Serving layout.")
flags.DEFINE_integer("version", 1, "Model version in the TF Serving layout.", lower_bound=1)
flags.DEFINE_list("calibration_data", ["sample:train"], "Training sets for int8 calibration patches.")
flags.DEFINE_integer("calibration_samples", 64, "Number of LR calibration patches.", lower_bound=1)
flags.DEFINE_integer("calibration_patch", 32, "LR side of the calibration patches.", lower_bound=8)
flags.DEFINE_string("parity_data", "sample:val", "Images (folder, HR:LR or sample:) for parity checks.")
flags.DEFINE_integer("parity_images", 5, "Images used for parity checks.", lower_bound=1)
flags.mark_flag_as_required("out")


class ExportInputError(UserError, ValueError):
    """A bad --run_dir / --model / --formats; the message names it."""


def choose_generator(run_dir: str | None, pair: int | None, model: str | None) -> tuple[str, dict]:
    """The generator file to export and a description of where it came from."""
    if bool(run_dir) == bool(model):
        raise ExportInputError("give exactly one of --run_dir and --model")
    if model:
        if not os.path.isfile(model):
            raise ExportInputError(f"{model}: no such file")
        return model, {"model": os.path.abspath(model)}
    if pair is None:
        pair, psnr = best_pair(run_dir)
        source = {"run_dir": os.path.abspath(run_dir), "pair": pair, "chosen_by": f"validation PSNR {psnr:.3f} dB"}
    else:
        source = {"run_dir": os.path.abspath(run_dir), "pair": pair, "chosen_by": "--pair"}
    path = os.path.join(run_dir, f"generator_{pair}.keras")
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
            if model.startswith("pair"):
                scores.setdefault(int(model[4:]), []).append(s["psnr"])
    if not scores:
        raise ExportInputError(f"{path}: no pairK results; pass --pair")
    best = max(scores, key=lambda k: statistics.mean(scores[k]))
    return best, statistics.mean(scores[best])


def representative_patches(specs: list[str], scale: int, samples: int, patch: int):
    """A generator of [LR patch] lists in [0, 1] for int8 calibration (fixed seed)."""
    from keras_mdsrgan import data

    store = data.build_training_store(specs, scale, patch * scale, skip_bad_files=True)
    dataset = data.training_dataset(store, patch, 1, seed=1234).take(samples)

    def generate():
        for lr, _ in dataset:
            yield [lr.numpy()]

    return generate


def parity(upscalers: dict, reference, images: list, scale: int) -> dict:
    """PSNR vs the Keras output (RGB) and vs HR (Y, border = scale), and median latency."""
    from keras_mdsrgan import inference, metrics

    keras_outputs = [inference.upscale(reference, lr) for _, lr, _, _ in images]
    report = {}
    for name, upscaler in upscalers.items():
        vs_keras, vs_hr, times = [], [], []
        for (_, lr, hr, grey), keras_sr in zip(images, keras_outputs):
            sr = inference.upscale(upscaler, lr)  # warm-up: tracing, tensor allocation
            for _ in range(3):
                start = time.perf_counter()
                inference.upscale(upscaler, lr)
                times.append(1000 * (time.perf_counter() - start))
            vs_keras.append(metrics.psnr(keras_sr, sr, y_only=False))
            vs_hr.append(metrics.psnr(hr, sr, border=scale, grey=grey))
        report[name] = {"psnr_vs_keras_db": _finite(metrics.mean_psnr(vs_keras), vs_keras),
                        "psnr_vs_hr_db": metrics.mean_psnr(vs_hr),
                        "latency_ms_median": statistics.median(times)}
    return report


def _finite(mean: float, values: list[float]):
    """Identical outputs have PSNR inf: report that as the string "inf" (JSON has no inf)."""
    import math

    return "inf" if all(math.isinf(v) for v in values) else mean


def run(generator_path: str, source: dict, out: str, formats: list[str]) -> dict:
    import keras

    from export import savedmodel, tflite
    from keras_mdsrgan import data, imageio, inference, layers  # noqa: F401

    unknown = [f for f in formats if f != "saved_model" and f not in tflite.FORMATS]
    if unknown:
        raise ExportInputError(f"unknown --formats {unknown}; choose from saved_model, {', '.join(tflite.FORMATS)}")
    generator = keras.saving.load_model(generator_path, compile=False)
    reference = inference.KerasUpscaler(generator)
    scale = inference.model_scale(reference)
    images = list(data.evaluation_images(FLAGS.parity_data, scale, FLAGS.parity_images))
    os.makedirs(out, exist_ok=True)
    manifest = {
        "scale": scale, "receptive_radius_lr": reference.radius, "source": source,
        "parameters": int(generator.count_params()),
        "saved_model": {"signatures": {
            "serving_default": {"inputs": {"lr": "uint8 [batch, height, width, 3]"},
                                "outputs": {"sr": f"uint8 [batch, {scale}*height, {scale}*width, 3]"}},
            "serving_float": {"inputs": {"lr": "float32 [batch, height, width, 3] in [0, 1]"},
                              "outputs": {"sr": f"float32 [batch, {scale}*height, {scale}*width, 3]"}}}},
        "tflite": {"inputs": {"lr": "float32 [1, height, width, 3] in [0, 1]; resize_tensor_input for any size"},
                   "outputs": {"sr": f"float32 [1, {scale}*height, {scale}*width, 3]"}},
        "files": {}}
    upscalers = {}
    if "saved_model" in formats:
        path = os.path.join(out, "saved_model", FLAGS.name, str(FLAGS.version))
        savedmodel.write_serving_model(generator, path)
        manifest["files"]["saved_model"] = {"path": os.path.relpath(path, out), "bytes": _folder_bytes(path)}
        upscalers["saved_model"] = inference.SavedModelUpscaler(path)
    wanted = [f for f in formats if f in tflite.FORMATS]
    if wanted:
        work = tempfile.mkdtemp(prefix=".core-", dir=out)
        try:
            savedmodel.write_core_model(generator, os.path.join(work, "core"))
            calibration = (representative_patches(FLAGS.calibration_data, scale, FLAGS.calibration_samples,
                                                  FLAGS.calibration_patch) if "tflite_int8" in wanted else None)
            for kind in wanted:
                model = tflite.convert(os.path.join(work, "core"), kind, calibration)
                bytes_per_weight = {"tflite_fp32": 4, "tflite_fp16": 2}.get(kind, 1)
                ops = tflite.check_model(model, int(0.9 * manifest["parameters"] * bytes_per_weight))
                path = os.path.join(out, f"generator_{kind[len('tflite_'):]}.tflite")
                files.write_text(path, model, mode="wb")
                manifest["files"][kind] = {"path": os.path.basename(path), "bytes": len(model), "ops": ops}
                upscalers[kind] = inference.TFLiteUpscaler(path, num_threads=2)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    manifest["parity"] = {"images": FLAGS.parity_data, "n_images": len(images),
                          **parity({"keras": reference, **upscalers}, reference, images, scale)}
    files.write_json(os.path.join(out, "manifest.json"), manifest)
    return manifest


def _folder_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    try:
        path, source = choose_generator(FLAGS.run_dir, FLAGS.pair, FLAGS.model)
        manifest = run(path, source, FLAGS.out, FLAGS.formats)
    except ValueError as err:  # ExportInputError, DataError: one-line messages
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"exported x{manifest['scale']} generator {path} to {FLAGS.out}")
    for name, scores in manifest["parity"].items():
        if isinstance(scores, dict):
            size = manifest["files"].get(name, {}).get("bytes")
            vs_keras = scores["psnr_vs_keras_db"]
            vs_keras = vs_keras if isinstance(vs_keras, str) else f"{vs_keras:.2f}"
            print(f"  {name:20s} vs Keras {vs_keras} dB  vs HR {scores['psnr_vs_hr_db']:.2f} dB  "
                  f"{scores['latency_ms_median']:.1f} ms" + (f"  {size / 1e6:.2f} MB" if size else ""))
    return 0


if __name__ == "__main__":
    app.run(main)
