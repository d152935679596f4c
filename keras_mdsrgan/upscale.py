"""Upscale an image or a folder with a .keras, SavedModel or .tflite generator.

  python -m keras_mdsrgan.upscale --model=PATH --input=FILE_OR_DIR --output=FILE_OR_DIR \
      [--tile=N --overlap=N]

Inputs follow the training decoding rule (grey, palette, 16-bit become 8-bit RGB); an alpha
channel is upscaled with MATLAB bicubic and kept when the output format has one (PNG, WebP,
TIFF). Outputs are written atomically. --tile bounds memory for huge images: tiles of N LR
pixels with --overlap LR pixels of context (default: the model's receptive radius), which
makes the stitched result equal to the whole-image one.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from keras_mdsrgan import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A .keras generator, an exported SavedModel folder or a .tflite file.")
flags.DEFINE_string("input", None, "An image file or a folder of images.")
flags.DEFINE_string("output", None, "The output file (for a file input) or folder (for a folder input).")
flags.DEFINE_integer("tile", None, "Tile side in LR pixels (default: whole image).", lower_bound=8)
flags.DEFINE_integer("overlap", None, "Context around each tile in LR pixels (default: receptive radius).",
                     lower_bound=0)
flags.mark_flags_as_required(["model", "input", "output"])

ALPHA_FORMATS = (".png", ".webp", ".tif", ".tiff")


def upscale_file(upscaler, source: str, target: str, scale: int, tile=None, overlap=None) -> None:
    """Upscale one file by the decoding rule, keep alpha where the target can hold it."""
    import numpy as np

    from keras_mdsrgan import imageio, inference, resize

    rgb, alpha = imageio.read_image_and_alpha(source)
    sr = inference.upscale(upscaler, rgb, tile=tile, overlap=overlap)
    if alpha is not None and target.lower().endswith(ALPHA_FORMATS):
        big_alpha = resize.imresize(alpha[..., None], float(scale)).numpy()
        sr = np.concatenate([sr, big_alpha], axis=-1)
    imageio.write_image(target, sr)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    import keras

    from keras_mdsrgan import imageio, inference

    try:
        upscaler = inference.load(FLAGS.model)
        scale = inference.model_scale(upscaler)
        if os.path.isdir(FLAGS.input):
            jobs = [(path, os.path.join(FLAGS.output, os.path.splitext(os.path.basename(path))[0] + ".png"))
                    for path in imageio.list_images(FLAGS.input)]
            if not jobs:
                raise imageio.ImageError(f"{FLAGS.input}: no image files")
        else:
            jobs = [(FLAGS.input, FLAGS.output)]
    except ValueError as err:  # ModelLoadError, ImageError: one-line messages
        print(f"error: {err}", file=sys.stderr)
        return 2
    bar = keras.utils.Progbar(len(jobs), unit_name="image") if len(jobs) > 1 and FLAGS.verbosity >= 0 else None
    failed = []
    for i, (source, target) in enumerate(jobs):
        try:
            upscale_file(upscaler, source, target, scale, FLAGS.tile, FLAGS.overlap)
        except ValueError as err:  # a bad file: report it, go on with the others
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
