"""Upscale an image or a folder with a .keras, SavedModel, .tflite or .onnx generator.

  python -m keras_mdsrgan.upscale [--model=PATH] --input=FILE_OR_DIR --output=FILE_OR_DIR \
      [--tile=N --overlap=N --max_image_pixels=N]

Without --model it uses the zoo's x4 generator (``zoo:x4``) and says so.

Inputs follow the training decoding rule (grey, palette, 16-bit become 8-bit RGB); an alpha
channel is upscaled with MATLAB bicubic and kept when the output format has one (PNG, WebP,
TIFF). Outputs are written atomically; a folder's images become OUTPUT/STEM.png, and two inputs
with one output (a.png, a.jpg) or an output that is an input file stop the run before any work.
A rerun over a folder removes the temporary files a killed run left there, and with
--skip_existing goes on where it stopped. Ctrl-C or SIGTERM stops it in one line.
Memory stays bounded on any image: the model runs on tiles of --tile LR pixels (default
1024 // scale, 0 = whole images) with --overlap LR pixels of context (default: the model's
receptive radius), which makes the stitched result equal to the whole-image one. Images above
--max_image_pixels (default: Pillow's limit) are refused, as decompression bombs.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from keras_mdsrgan import cli, files, interrupts
from keras_mdsrgan.data import imageio
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS
DEFAULT_MODEL = "zoo:x4"
flags.DEFINE_string(
    "model",
    None,
    f"A .keras generator, an exported SavedModel folder, a .tflite or an .onnx file, or zoo:NAME "
    f"(default: {DEFAULT_MODEL}).",
)
flags.DEFINE_string("input", None, "An image file or a folder of images.")
flags.DEFINE_string("output", None, "The output file (for a file input) or folder (for a folder input).")
flags.DEFINE_integer(
    "tile",
    None,
    "Tile side in LR pixels (default 1024 // scale, so that memory stays bounded on any image; 0 = whole images).",
    lower_bound=0,
)
flags.DEFINE_integer(
    "overlap", None, "Context around each tile in LR pixels (default: receptive radius).", lower_bound=0
)
flags.DEFINE_bool(
    "skip_existing",
    False,
    "Skip inputs whose output file exists (outputs are complete or absent: "
    "they are written to a temporary name and renamed), e.g. to finish an interrupted folder.",
)
cli.define_max_image_pixels()
flags.mark_flags_as_required(["input", "output"])


class TileBar:
    """A progress bar over an image's tiles, shown once it has more than one."""

    def __init__(self):
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        import keras

        if total > 1:
            self.bar = self.bar or keras.utils.Progbar(total, unit_name="tile")
            self.bar.update(done)


@interrupts.quiet_main()
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    import keras

    from keras_mdsrgan.model import inference

    try:
        imageio.set_max_image_pixels(FLAGS.max_image_pixels)
        jobs = imageio.output_files(FLAGS.input, FLAGS.output)
        if FLAGS.model is None:
            print(f"using {DEFAULT_MODEL} (no --model given)")
        upscaler = inference.load(FLAGS.model or DEFAULT_MODEL)
        scale = inference.model_scale(upscaler)
    except UserError as err:
        return cli.user_error(err)
    tile = inference.tile_for(FLAGS.tile, scale)
    out_folder = FLAGS.output if os.path.isdir(FLAGS.input) else os.path.dirname(FLAGS.output) or "."
    removed = files.remove_stale_temporaries(out_folder)  # what a killed earlier run left half-written
    if removed:
        print(f"removed {len(removed)} temporary file(s) an interrupted run left in {out_folder}")
    if FLAGS.skip_existing:
        done = [job for job in jobs if os.path.exists(job[1])]
        jobs = [job for job in jobs if not os.path.exists(job[1])]
        if done:
            print(f"skipping {len(done)} image(s) whose output exists")
    shown = FLAGS.verbosity >= 0
    bar = keras.utils.Progbar(len(jobs), unit_name="image") if len(jobs) > 1 and shown else None
    tile_bar = TileBar() if len(jobs) == 1 and shown else None  # one large image: its tiles
    failed = []
    for i, (source, target) in enumerate(jobs):
        try:
            inference.upscale_file(upscaler, source, target, scale, tile, FLAGS.overlap, on_tile=tile_bar)
        except imageio.WriteError as err:  # the output side would refuse the next images too: stop
            failed.append(f"{err}; stopped before the other {len(jobs) - i - 1} image(s)")
            break
        except UserError as err:  # a bad input file: report it, go on with the others
            failed.append(str(err))
        if bar:
            bar.update(i + 1)
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(jobs)} image(s) failed", file=sys.stderr)
        return 1
    print(f"wrote {len(jobs)} image(s) at x{scale} to {FLAGS.output}")
    return 0


if __name__ == "__main__":
    app.run(main)
