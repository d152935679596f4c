"""The demo page, in Gradio: pick an image and a model, compare bicubic and the model with a
slider, look at a 1:1 crop, download the PNG. The work itself is ``engine``'s."""

from __future__ import annotations

import html
import os
import shutil
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry or version check: offline

import gradio as gr  # noqa: E402  (after the environment it reads at import)

from keras_mdsrgan.data import imageio  # noqa: E402
from keras_mdsrgan.demo import engine  # noqa: E402
from keras_mdsrgan.errors import UserError  # noqa: E402

CSS = "#zoom img { image-rendering: pixelated; }"  # the crop's pixels as they are, not smoothed
DEFAULT_MODEL = "zoo:x4"  # as upscale's default, when shipped
KEEP_RESULTS = 16  # result folders kept for downloads; older ones are removed


def _prune(folder: str, keep: int = KEEP_RESULTS) -> None:
    """Remove all but the newest ``keep`` result folders (Gradio serves its own copies)."""
    found = sorted((e for e in os.scandir(folder) if e.is_dir()), key=lambda e: e.stat().st_mtime)
    for entry in found[: max(len(found) - keep, 0)]:
        shutil.rmtree(entry.path, ignore_errors=True)


def build(models: engine.Models, results: str, samples: list[str], tile: int | None = None) -> gr.Blocks:
    """The page for ``models``; results are written under ``results``."""

    def run(upload, name, x, y, progress=gr.Progress()):  # noqa: B008  (Gradio's way to ask for a bar)
        if not upload:
            raise gr.Error("choose an image first: upload one or pick a sample", print_exception=False)
        entry = models.get(name)
        _prune(results)
        started = time.strftime("%H:%M:%S")
        try:
            result = engine.upscale(
                entry,
                upload,
                os.path.basename(upload),
                results,
                tile,
                on_tile=lambda done, total: progress((done, total), desc="upscaling", unit="tiles"),
            )
        except UserError as err:
            raise gr.Error(html.escape(str(err)), duration=None, print_exception=False) from None
        h, w = result.sr.shape[:2]
        about = (
            f"{html.escape(entry.details)}\n\n{w // entry.scale}x{h // entry.scale} → {w}x{h} "
            f"in **{result.seconds:.2f} s** (model only; started {started})"
        )
        state = (result.bicubic, result.sr)
        return (result.bicubic, result.sr), zoom(state, x, y), result.png, about, state

    def zoom(state, x, y):
        if not state:
            return None
        return engine.crop(state[0], x, y), engine.crop(state[1], x, y)

    with gr.Blocks(title="keras_mdsrgan demo", analytics_enabled=False, delete_cache=(600, 1800)) as page:
        gr.Markdown(
            "## keras_mdsrgan: super-resolution demo\n"
            "Upload an image (or pick a sample), choose a model, press **Upscale**. "
            "Left of the slider: bicubic; right: the model."
        )
        state = gr.State()
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(
                    label="Image", file_types=list(imageio.IMAGE_EXTENSIONS), type="filepath", elem_id="upload"
                )
                gr.Examples([[s] for s in samples], inputs=[upload], label="Samples", cache_examples=False)
                names = list(models.entries)
                default = DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]
                model = gr.Dropdown(names, value=default, label="Model", elem_id="model")
                button = gr.Button("Upscale", variant="primary", elem_id="run")
                about = gr.Markdown(elem_id="about")
                download = gr.File(label="Download (PNG)", interactive=False, elem_id="download")
            with gr.Column(scale=2):
                compare = gr.ImageSlider(
                    label="bicubic | model", format="png", type="numpy", interactive=False, elem_id="compare"
                )
                with gr.Row():
                    x = gr.Slider(0, 100, value=50, step=1, label="1:1 crop: across (%)", elem_id="zoom_x")
                    y = gr.Slider(0, 100, value=50, step=1, label="1:1 crop: down (%)", elem_id="zoom_y")
                crop = gr.ImageSlider(
                    label=f"1:1 crop ({engine.CROP} px): bicubic | model",
                    format="png",
                    type="numpy",
                    interactive=False,
                    height=engine.CROP,
                    width=engine.CROP,
                    elem_id="zoom",
                )
        button.click(run, [upload, model, x, y], [compare, crop, download, about, state])
        for slider in (x, y):
            slider.release(zoom, [state, x, y], [crop], queue=False)
    return page
