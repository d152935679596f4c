"""Export a trained generator for TF Serving, TFLite and ONNX.

  mdsrgan-export (--run_dir=DIR [--pair=K] | --model=GEN.keras) --out=DIR \
      --formats=saved_model,tflite_fp32,tflite_fp16,tflite_int8_dynamic,tflite_int8[,onnx]

(or python -m keras_mdsrgan.export, or python -m export in a checkout). Writes
OUT/saved_model/NAME/VERSION/ (the layout TF Serving loads), OUT/generator_FORMAT.tflite,
OUT/generator.onnx (needs pip install 'keras-mdsrgan[onnx]'), OUT/manifest.json (scale,
input/output spec, source, sizes, parity with Keras, latency) and OUT/MODEL_CARD.md.
Without --pair, a run's best pair by validation PSNR (its results.json) is exported.
The work is done by ``keras_mdsrgan.export.exporter``; this module only reads the flags and prints.
"""

from __future__ import annotations

import os

from keras_mdsrgan import interrupts

interrupts.quiet_while_starting()  # this module is only ever a program; the exporter loads TensorFlow

from absl import app, flags  # noqa: E402

from keras_mdsrgan import cli  # noqa: E402
from keras_mdsrgan.errors import UserError  # noqa: E402
from keras_mdsrgan.export.exporter import FORMATS, ExportOptions, choose_generator, export_generator  # noqa: E402

_DEFAULTS = ExportOptions()
FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A training run directory.")
flags.DEFINE_integer("pair", None, "Which pair of the run (default: best validation PSNR).", lower_bound=0)
flags.DEFINE_string("model", None, "A generator .keras file (instead of --run_dir).")
flags.DEFINE_string("out", None, "Output folder.")
flags.DEFINE_list("formats", list(_DEFAULTS.formats), f"What to write, from {', '.join(FORMATS)}.")
flags.DEFINE_string("name", _DEFAULTS.name, "Model name in the TF Serving layout.")
flags.DEFINE_integer("version", _DEFAULTS.version, "Model version in the TF Serving layout.", lower_bound=1)
flags.DEFINE_list("calibration_data", list(_DEFAULTS.calibration_data), "Training sets for int8 calibration patches.")
flags.DEFINE_integer(
    "calibration_samples", _DEFAULTS.calibration_samples, "Number of LR calibration patches.", lower_bound=1
)
flags.DEFINE_integer(
    "calibration_patch", _DEFAULTS.calibration_patch, "LR side of the calibration patches.", lower_bound=8
)
flags.DEFINE_string("parity_data", _DEFAULTS.parity_data, "Images (folder, HR:LR or sample:) for parity checks.")
flags.DEFINE_integer("parity_images", _DEFAULTS.parity_images, "Images used for parity checks.", lower_bound=1)
flags.DEFINE_string(
    "license",
    _DEFAULTS.license,
    "Licence id in the model card (a Hugging Face id such as apache-2.0; 'other': none chosen).",
)
flags.mark_flag_as_required("out")


def options_from_flags() -> ExportOptions:
    """The flags other than the generator's source and --out, as ExportOptions."""
    return ExportOptions(
        formats=tuple(FLAGS.formats),
        name=FLAGS.name,
        version=FLAGS.version,
        calibration_data=tuple(FLAGS.calibration_data),
        calibration_samples=FLAGS.calibration_samples,
        calibration_patch=FLAGS.calibration_patch,
        parity_data=FLAGS.parity_data,
        parity_images=FLAGS.parity_images,
        license=FLAGS.license,
    )


def print_report(path: str, manifest: dict) -> None:
    """One line per format: parity with Keras and HR, latency, size."""
    print(f"exported x{manifest['scale']} generator {path} to {FLAGS.out}")
    for name, scores in manifest["parity"].items():
        if isinstance(scores, dict):
            size = manifest["files"].get(name, {}).get("bytes")
            vs_keras = scores["psnr_vs_keras_db"]
            vs_keras = vs_keras if isinstance(vs_keras, str) else f"{vs_keras:.2f}"
            print(
                f"  {name:20s} vs Keras {vs_keras} dB (max {scores['max_abs_diff_vs_keras']} grey levels)  "
                f"vs HR {scores['psnr_vs_hr_db']:.2f} dB  "
                f"{scores['latency_ms_median']:.1f} ms" + (f"  {size / 1e6:.2f} MB" if size else "")
            )
    print(f"model card: {os.path.join(FLAGS.out, 'MODEL_CARD.md')}")


@interrupts.quiet_main()
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    try:
        options = options_from_flags()
        path, source = choose_generator(FLAGS.run_dir, FLAGS.pair, FLAGS.model)
        manifest = export_generator(path, source, FLAGS.out, options)
    except UserError as err:  # bad input or settings: one line; anything else is a bug (traceback)
        return cli.user_error(err)
    print_report(path, manifest)
    return 0


if __name__ == "__main__":
    app.run(main)
