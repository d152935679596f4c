"""What one upscaled image costs, per format, side by side in one run (issue #25 item 7).

For each --models entry (zoo:NAME or a .keras generator) the formats are exported into a
temporary folder (``python -m keras_mdsrgan.export``) and each upscales the same --size² LR
image, whole, round-robin with the others so that machine noise hits them alike:
  keras        tf.function, as ``upscale`` runs a .keras model
  keras_xla    the same, jit_compile=True
  tflite_fp32  LiteRT, XNNPACK, --threads threads
  tflite_int8  the int8 model (calibrated on --calibration_data), likewise
  onnx         onnxruntime, --threads threads
A float32 --matmul² product is timed in the same rounds: the machine's dense-matmul peak.
Printed per model and format: seconds per output megapixel, the ratio to keras, the largest
difference from keras in grey levels, and GFLOP/s (the convolutions' FLOPs, common.conv_flops)
with its fraction of the matmul peak.

  python benchmarks/cost_per_image.py [--models=zoo:x2,zoo:x4] [--size=128] [--repeats=5]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from absl import app, flags

import common  # puts the repository on sys.path, quiets TensorFlow
from keras_mdsrgan.model import inference

flags.DEFINE_list("models", ["zoo:x2", "zoo:x4"], "zoo:NAME or .keras generators.")
flags.DEFINE_integer("size", 128, "LR side of the timed upscale.")
flags.DEFINE_integer("repeats", 5, "Timed rounds (after one warm-up); medians are compared.")
flags.DEFINE_integer("threads", 2, "Threads of LiteRT and onnxruntime (TensorFlow uses every core).")
flags.DEFINE_integer("matmul", 2048, "Side of the float32 matrices of the reference product.")
flags.DEFINE_string("calibration_data", "sample:train", "Training images for the int8 model's calibration.")
FLAGS = flags.FLAGS
FORMATS = ("tflite_fp32", "tflite_int8", "onnx")


def export(model: str, out: str) -> dict[str, str]:
    """The exported files of ``model`` by format."""
    model = model if model.startswith("zoo:") else os.path.abspath(model)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_mdsrgan.export",
            f"--model={model}",
            f"--out={out}",
            f"--formats={','.join(FORMATS)}",
            f"--calibration_data={FLAGS.calibration_data}",
            "--parity_images=1",
        ],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if result.returncode:
        sys.exit(f"export of {model} failed: {result.stderr.strip().splitlines()[-1]}")
    return {
        "tflite_fp32": os.path.join(out, "generator_fp32.tflite"),
        "tflite_int8": os.path.join(out, "generator_int8.tflite"),
        "onnx": os.path.join(out, "generator.onnx"),
    }


def upscalers(model: str, out: str) -> tuple[dict, object]:
    """Every way of running ``model`` by name (each takes a (1, H, W, 3) float32 batch), and its Keras model."""
    keras_model = inference.load(model).model
    xla = tf.function(lambda lr: keras_model(lr, training=False), jit_compile=True)
    files = export(model, out)
    return {
        "keras": inference.KerasUpscaler(keras_model).float_call,
        "keras_xla": lambda lr: xla(lr).numpy(),
        "tflite_fp32": inference.TFLiteUpscaler(files["tflite_fp32"], FLAGS.threads).float_call,
        "tflite_int8": inference.TFLiteUpscaler(files["tflite_int8"], FLAGS.threads).float_call,
        "onnx": inference.OnnxUpscaler(files["onnx"], FLAGS.threads).float_call,
    }, keras_model


def main(argv):
    del argv
    lr = np.random.default_rng(0).random((1, FLAGS.size, FLAGS.size, 3), dtype=np.float32)
    a, b = tf.random.normal([FLAGS.matmul] * 2), tf.random.normal([FLAGS.matmul] * 2)
    matmul = tf.function(tf.linalg.matmul)
    runs = {"matmul": lambda: matmul(a, b).numpy()}
    work, outputs, scales = {"matmul": 2 * FLAGS.matmul**3}, {}, {}
    with tempfile.TemporaryDirectory(prefix="mdsrgan-cost-") as folder:
        for i, model in enumerate(FLAGS.models):
            ways, keras_model = upscalers(model, os.path.join(folder, str(i)))
            scales[model] = inference.model_scale(inference.KerasUpscaler(keras_model))
            for name, call in ways.items():
                runs[model, name] = lambda call=call: call(lr)
                work[model, name] = common.conv_flops(keras_model, FLAGS.size, FLAGS.size)
                outputs[model, name] = inference.to_uint8(call(lr)[0]).astype(int)
        medians = common.interleaved_medians(runs, FLAGS.repeats, warmup=1)
    peak = work["matmul"] / (medians["matmul"] / 1000) / 1e9
    print(f"{common.machine()}, TensorFlow {tf.__version__}; LR {FLAGS.size}², whole image")
    print(f"  float32 matmul {FLAGS.matmul}²: {peak:.1f} GFLOP/s (the peak below)")
    report = {"machine": common.machine(), "size": FLAGS.size, "matmul_gflops": peak, "models": {}}
    for model in FLAGS.models:
        megapixels = (FLAGS.size * scales[model]) ** 2 / 1e6
        print(f"  {model} (x{scales[model]}): s / output MP | x keras | max |Δ| grey levels | GFLOP/s | of peak")
        rows = {}
        for name in ("keras", "keras_xla", *FORMATS):
            seconds = medians[model, name] / 1000
            gflops = work[model, name] / seconds / 1e9
            rows[name] = {
                "s_per_mp": seconds / megapixels,
                "ratio_keras": medians[model, name] / medians[model, "keras"],
                "max_grey_diff": int(np.abs(outputs[model, name] - outputs[model, "keras"]).max()),
                "gflops": gflops,
                "of_peak": gflops / peak,
            }
            r = rows[name]
            print(
                f"    {name:12s} {r['s_per_mp']:8.2f} | {r['ratio_keras']:5.2f} | {r['max_grey_diff']:3d} | "
                f"{r['gflops']:6.1f} | {r['of_peak']:.2f}"
            )
        report["models"][model] = rows
    print(json.dumps(report))


if __name__ == "__main__":
    app.run(main)
