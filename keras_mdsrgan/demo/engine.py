"""What the demo page runs, apart from the page: the models chosen at start-up, one upscale as
``upscale`` does it, and the 1:1 crop. No web code here, so it is tested without a browser."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import numpy as np

from keras_mdsrgan.data import imageio, pipelines
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import inference, zoo

SAMPLES = ("chelsea.png", "astronaut.png", "coffee.png")  # scikit-image's photos (public domain / CC0)
SAMPLE_SHRINK = 4  # samples are shown as these photos made 4x smaller by MATLAB bicubic
CROP = 256  # side of the 1:1 crop, in output pixels


@dataclasses.dataclass
class Entry:
    """A model of the start-up list."""

    name: str
    source: str
    upscaler: object
    scale: int
    details: str


@dataclasses.dataclass
class Result:
    """One upscaled image: the bicubic and model outputs (same size), the model's time, the PNG."""

    bicubic: np.ndarray
    sr: np.ndarray
    seconds: float
    png: str


def _details(name: str, source: str, upscaler, scale: int) -> str:
    """One line about a model: format, scale, size, and for a zoo model its card's scores."""
    parts = [f"x{scale}"]
    model = getattr(upscaler, "model", None)
    if model is not None:
        parts.append(f"{model.count_params() / 1e6:.2f} M parameters")
    if zoo.is_zoo(source):
        card = zoo.info(source)
        parts.append(str(card.get("architecture", "")))
        parts += [f"{d} {s['psnr']:.2f} dB" for d, s in card.get("scores", {}).items()]
        parts.append(f"trained {card.get('training', {}).get('steps_run', '?')} steps")
    else:
        kind = "SavedModel" if os.path.isdir(source) else os.path.splitext(source)[1].lstrip(".")
        parts.append(f"{kind} file {os.path.basename(os.path.normpath(source))}")
    return f"{name}: " + ", ".join(p for p in parts if p)


class Models:
    """The zoo's models by name plus the files given at start-up, each loaded once, up front,
    so that a broken file stops the server at start and not a visitor's request."""

    def __init__(self, paths: list[str], names: list[str] | None = None):
        specs = {zoo.PREFIX + n: zoo.PREFIX + n for n in (zoo.names() if names is None else names)}
        specs.update(inference.label_models(paths, taken=tuple(specs)))
        if not specs:
            raise UserError("no model to show: the zoo ships none here; give --models=PATH[,PATH...]")
        self.entries = {}
        for name, source in specs.items():
            upscaler = inference.load(source)
            scale = inference.model_scale(upscaler)
            self.entries[name] = Entry(name, source, upscaler, scale, _details(name, source, upscaler, scale))

    def get(self, name: str) -> Entry:
        """The entry of a name from the start-up list; anything else is refused."""
        if name not in self.entries:
            raise UserError(f"{name!r} is not one of this server's models ({', '.join(self.entries)})")
        return self.entries[name]


def write_samples(folder: str) -> list[str]:
    """The bundled samples as PNG files in ``folder`` (each photo made SAMPLE_SHRINK x smaller)."""
    from keras_mdsrgan.data import resize

    paths = []
    for name in SAMPLES:
        photo = imageio.read_image(os.path.join(pipelines.sample_dir(), name))
        small = resize.imresize(photo, 1.0 / SAMPLE_SHRINK).numpy()
        target = os.path.join(folder, f"{os.path.splitext(name)[0]}_small.png")
        imageio.write_image(target, small)
        paths.append(target)
    return paths


def upscale(entry: Entry, upload: str, shown_name: str, out_folder: str, tile=None, on_tile=None) -> Result:
    """Upscale the file ``upload`` with ``entry`` as ``upscale`` does (same decoding and tiles; an
    alpha channel kept in the PNG, not shown); errors name the file as the visitor called it,
    ``shown_name``."""
    from keras_mdsrgan.data import resize

    try:
        rgb, alpha = imageio.read_image_and_alpha(upload)
    except UserError as err:
        raise UserError(str(err).replace(upload, shown_name)) from None
    start = time.perf_counter()
    sr = inference.upscale(entry.upscaler, rgb, tile=inference.tile_for(tile, entry.scale), on_tile=on_tile)
    seconds = time.perf_counter() - start
    bicubic = resize.imresize(rgb, float(entry.scale)).numpy()
    stem = os.path.splitext(os.path.basename(shown_name))[0] or "image"
    folder = tempfile.mkdtemp(dir=out_folder)  # one folder per result: the download keeps its name
    png = os.path.join(folder, f"{stem}_{entry.name.replace(':', '_').replace('/', '_')}.png")
    imageio.write_image(png, inference.with_alpha(sr, alpha, entry.scale))
    return Result(bicubic, sr, seconds, png)


def crop(image: np.ndarray, x_percent: float, y_percent: float, side: int = CROP) -> np.ndarray:
    """A ``side`` x ``side`` window of ``image`` (smaller if the image is), placed at the given
    percentages of the room across and down: 0 at the left / top edge, 100 at the right / bottom."""
    height, width = image.shape[:2]
    h, w = min(side, height), min(side, width)
    top = int(round((height - h) * y_percent / 100.0))
    left = int(round((width - w) * x_percent / 100.0))
    return image[top : top + h, left : left + w]
