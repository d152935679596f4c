"""A local web page to try the models on your own pictures.

  mdsrgan-demo [--models=PATH[,PATH...]] [--host=127.0.0.1 --port=7860]
  (or python -m keras_mdsrgan.demo; needs pip install 'keras-mdsrgan[demo]')

Upload or drop an image, or pick a sample; choose a model (the zoo's, by name, plus the .keras,
SavedModel, .tflite or .onnx files given with --models, nothing else); compare bicubic and the
model with a slider and in a 1:1 crop; download the PNG. Images are decoded, tiled and refused
(--max_image_pixels) as by `upscale`, and errors show on the page as the same one line.
Requests run one at a time, in arrival order (a queue of at most --queue_size). The page loads
nothing from the internet. Uploads and results live in a temporary folder removed at exit.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time

from absl import app, flags

from keras_mdsrgan import cli, interrupts
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_list("models", [], "Model files to offer besides the zoo's: .keras, SavedModel folders, .tflite, .onnx.")
flags.DEFINE_string("host", "127.0.0.1", "Address to serve on (0.0.0.0 exposes the page to the network).")
flags.DEFINE_integer("port", 7860, "Port to serve on.", lower_bound=1, upper_bound=65535)
flags.DEFINE_integer(
    "tile",
    None,
    "Tile side in LR pixels, as upscale's --tile (default 1024 // scale; 0 = whole images).",
    lower_bound=0,
)
flags.DEFINE_integer("max_upload_mb", 50, "Refuse uploaded files larger than this many megabytes.", lower_bound=1)
flags.DEFINE_integer("queue_size", 16, "Requests that may wait for their turn; more are turned away.", lower_bound=1)
cli.define_max_image_pixels()

STOPPED = "the server stopped; its temporary files are removed"


@interrupts.quiet_main(kept=STOPPED)
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    from keras_mdsrgan.data import imageio
    from keras_mdsrgan.demo import engine

    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's start-up self-checks, one line each
    root = tempfile.mkdtemp(prefix="mdsrgan-demo-")
    os.environ["GRADIO_TEMP_DIR"] = root  # uploads and Gradio's copies of results: removed below
    try:
        models = engine.Models(FLAGS.models)
        os.makedirs(os.path.join(root, "samples"))
        samples = engine.write_samples(os.path.join(root, "samples"))  # before the limit: the photos are ours
        imageio.set_max_image_pixels(FLAGS.max_image_pixels)
        results = os.path.join(root, "results")
        os.makedirs(results)
        from keras_mdsrgan.demo import page

        blocks = page.build(models, results, samples, FLAGS.tile)
        blocks.queue(default_concurrency_limit=1, max_size=FLAGS.queue_size)
        try:
            blocks.launch(
                server_name=FLAGS.host,
                server_port=FLAGS.port,
                max_file_size=FLAGS.max_upload_mb * 1024 * 1024,
                css=page.CSS,
                ssr_mode=False,
                quiet=True,
                prevent_thread_lock=True,
            )
        except OSError as err:  # Gradio's message for a port in use
            raise UserError(f"cannot serve on {FLAGS.host}:{FLAGS.port} ({str(err).splitlines()[0]})") from None
        print(f"serving {', '.join(models.entries)} on http://{FLAGS.host}:{FLAGS.port} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(1)
        finally:
            blocks.close()
    except UserError as err:
        return cli.user_error(err)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    app.run(main)
