"""Score generators (and bicubic) on benchmark sets: PSNR, SSIM, NIQE (PI when available).

  python -m keras_mdsrgan.evaluate --scale=4 --datasets=Set5=HR_DIR[:LR_DIR],Set14=... \
      (--run_dir=DIR | --models=a.keras,b.tflite,c.onnx,saved_model_dir [--model_names=A,B,C] | --bicubic) \
      [--out=DIR] [--save_images] [--ma_model=model.mat] [--tile=N] [--max_image_pixels=N]

Writes OUT/results.json ({"scale", "results": {DATASET: {MODEL: {"psnr", "ssim", "niqe", "ma", "pi",
"n_images"}}}}, plus per-image scores; "ma" and "pi" are null without --ma_model, and "pi_note"
says why), OUT/results.csv, and prints a Markdown table.
Models are named bicubic, pair0, pair1, ... (from --run_dir) and, for --models, by --model_names or
else by file stem with parent folders added until every name differs (runA/generator_0,
runB/generator_0); the same model given twice or a name clash (with bicubic, a pairK, each other)
is refused, so no model's scores replace another's.
"""

from __future__ import annotations

from absl import app, flags

from keras_mdsrgan import cli, interrupts
from keras_mdsrgan.data import imageio
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_integer("scale", None, "Upscaling factor of the models.", lower_bound=2)
flags.DEFINE_list("datasets", None, "NAME=HR_DIR or NAME=HR_DIR:LR_DIR, comma-separated.")
flags.DEFINE_string("run_dir", None, "A training run: evaluates its generator_K.keras as pairK.")
flags.DEFINE_list(
    "models",
    [],
    "Generators (.keras, .tflite, .onnx or exported SavedModel folders), named by stem "
    "with parent folders added until the names differ.",
)
flags.DEFINE_list("model_names", None, "Names for --models in results and tables, one per model.")
flags.DEFINE_bool("bicubic", False, "Also score MATLAB bicubic upscaling.")
flags.DEFINE_string("out", "eval_results", "Output folder for results.json / results.csv / images.")
flags.DEFINE_bool("save_images", False, "Save every SR image under OUT/DATASET/MODEL/.")
flags.DEFINE_integer("max_images", None, "Use at most this many images per dataset.", lower_bound=1)
flags.DEFINE_integer(
    "tile",
    None,
    "Run models on LR tiles of this side, overlapping by their receptive radius, "
    "so large images (Urban100, DIV2K) fit in memory; default 1024 // scale, 0 = whole "
    "images. Tiled and whole outputs agree to within one grey level.",
    lower_bound=0,
)
flags.DEFINE_string(
    "ma_model",
    None,
    "The Ma et al. (2017) model (model.mat of the sr-metric release or pyiqa's "
    "NRQM_model.mat) for the Ma score and PI = ((10 - Ma) + NIQE) / 2; without it both are null.",
)
cli.define_max_image_pixels()
flags.mark_flags_as_required(["scale", "datasets"])


@interrupts.quiet_main()
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    from keras_mdsrgan.model import inference
    from keras_mdsrgan.quality import evaluation, ma

    try:
        imageio.set_max_image_pixels(FLAGS.max_image_pixels)
        ma_model = ma.load_model(FLAGS.ma_model) if FLAGS.ma_model else None
        datasets = evaluation.parse_datasets(FLAGS.datasets)
        files = evaluation.model_files(FLAGS.run_dir, FLAGS.models, FLAGS.model_names)
        if not files and not FLAGS.bicubic:
            raise evaluation.EvaluationError("nothing to evaluate: give --run_dir, --models or --bicubic")
        upscalers = {"bicubic": evaluation.bicubic_upscaler(FLAGS.scale)} if FLAGS.bicubic else {}
        tile = inference.tile_for(FLAGS.tile, FLAGS.scale)
        upscalers.update({name: evaluation.load_upscaler(path, FLAGS.scale, tile) for name, path in files.items()})
        results = evaluation.evaluate_datasets(
            FLAGS.scale,
            datasets,
            upscalers,
            FLAGS.out,
            FLAGS.save_images,
            FLAGS.max_images,
            verbose=FLAGS.verbosity >= 0,
            ma_model=ma_model,
        )
    except UserError as err:
        return cli.user_error(err)
    print(f"\n{evaluation.markdown_table(results)}\n")
    if evaluation.pi_note(ma_model):
        print(evaluation.pi_note(ma_model))
    print(f"results: {FLAGS.out}/results.json")
    return 0


if __name__ == "__main__":
    app.run(main)
