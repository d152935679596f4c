"""The model zoo: generators trained by this project, shipped in the package, named ``zoo:NAME``.

Each model is one ``resources/zoo/NAME.npz``: its Keras architecture (JSON), its weights at the
precision it ships in (float16 unless that costs more than 0.01 dB), loaded back into float32, and
its card (``info``: scale, architecture, scores, training) as measured when it was packed
(``keras_mdsrgan.zoo.packing``). ``python -m keras_mdsrgan.zoo`` lists them.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np

from keras_mdsrgan import RESOURCES, files
from keras_mdsrgan.errors import UserError

PREFIX = "zoo:"
FOLDER = os.path.join(RESOURCES, "zoo")


class ZooError(UserError):
    """An unknown zoo name, or a zoo file that does not load."""


def names(folder: str | None = None) -> list[str]:
    """The shipped models' names, sorted."""
    folder = folder or FOLDER
    found = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(os.path.splitext(n)[0] for n in found if n.endswith(".npz"))


def is_zoo(spec: str) -> bool:
    return spec.startswith(PREFIX)


def path(spec: str, folder: str | None = None) -> str:
    """The file of ``zoo:NAME`` (or of ``NAME``); a one-line error listing the names if unknown."""
    folder = folder or FOLDER
    name = spec[len(PREFIX) :] if is_zoo(spec) else spec
    if name not in names(folder):
        known = ", ".join(PREFIX + n for n in names(folder)) or "none shipped"
        raise ZooError(f"{PREFIX}{name}: no such model in the zoo ({known})")
    return os.path.join(folder, name + ".npz")


def load(spec: str, folder: str | None = None):
    """The Keras generator ``zoo:NAME`` names, with float32 weights."""
    import keras

    from keras_mdsrgan.model import layers  # noqa: F401  (registers the custom layers)

    with np.load(path(spec, folder)) as stored:
        model = keras.models.model_from_json(str(stored["architecture"]))
        weights = [stored[f"w{i}"].astype(np.float32) for i in range(int(stored["count"]))]
    model.set_weights(weights)
    return model


def info(spec: str, folder: str | None = None) -> dict:
    """The card of ``zoo:NAME``: what ``pack`` stored beside the weights."""
    with np.load(path(spec, folder)) as stored:
        return json.loads(str(stored["info"])) if "info" in stored else {}


def perceptual(card: dict) -> bool:
    """Whether a card's model was chosen by a perceptual score (a GAN stage's NIQE) rather than PSNR."""
    return card.get("training", {}).get("chosen_by", "psnr") != "psnr"


def pack(generator, target: str, dtype: str = "float16", card: dict | None = None) -> int:
    """Write ``generator`` as a zoo file (architecture, weights in ``dtype``, ``card``); its size in bytes."""
    weights = generator.get_weights()
    arrays = {f"w{i}": w.astype(dtype) for i, w in enumerate(weights)}
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        architecture=np.array(generator.to_json()),
        count=np.array(len(weights)),
        info=np.array(json.dumps(card or {})),
        **arrays,
    )
    files.write_text(target, buffer.getvalue(), mode="wb")
    return os.path.getsize(target)
