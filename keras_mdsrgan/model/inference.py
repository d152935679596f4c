"""Run a trained generator from any deployed form (.keras, SavedModel, .tflite, .onnx), whole or tiled.

Every upscaler maps a uint8 RGB image (H, W, 3) to uint8 (sH, sW, 3). Tiled upscaling cuts
the LR image into tiles, runs each with ``overlap`` LR pixels of context on every side and
keeps only the tile's own part of the output: with an overlap of at least the generator's
receptive radius the stitched image equals the whole-image result, in bounded memory. The
command lines tile by default (``tile_for``) and name the models they score apart
(``label_models``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from keras_mdsrgan.errors import UserError
from keras_mdsrgan.names import unique_labels

DEFAULT_OVERLAP = 48  # LR pixels; covers SRResNet up to 20 residual blocks at x2/x4
DEFAULT_TILE_SR = 1024  # SR pixels per tile side unless --tile says otherwise: bounded activations


class ModelLoadError(UserError, ValueError):
    """A model path that cannot be used (or named apart from the others); the message names it."""


def receptive_radius(model) -> int:
    """LR pixels on each side that can influence an output pixel of a Keras SRResNet-like model.

    Sums the half-widths of the convolutions along the graph, in LR pixels (a convolution after
    an r-fold pixel shuffle adds half-width / r). Residual additions do not widen it.
    """
    import keras

    from keras_mdsrgan.model.layers import PixelShuffle

    radius, factor = 0.0, 1
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            radius += (layer.kernel_size[0] - 1) // 2 * layer.dilation_rate[0] / factor
        elif isinstance(layer, PixelShuffle):
            factor *= layer.factor
    return int(np.ceil(radius))


def to_uint8(image) -> np.ndarray:
    """[0, 1] floats to uint8, rounded half up and clipped."""
    return np.clip(np.floor(np.asarray(image, np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


class KerasUpscaler:
    """A .keras generator (or an in-memory Keras model)."""

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.radius = receptive_radius(model)
        self._run = tf.function(lambda lr: model(lr, training=False), reduce_retracing=True, autograph=False)

    def float_call(self, lr: np.ndarray) -> np.ndarray:
        """(1, H, W, 3) float32 in [0, 1] -> (1, sH, sW, 3) float32."""
        return self._run(lr).numpy()


class SavedModelUpscaler:
    """A SavedModel written by ``python -m export`` (its float signature)."""

    def __init__(self, path: str):
        import tensorflow as tf

        loaded = tf.saved_model.load(path)
        if "serving_float" not in loaded.signatures:
            raise ModelLoadError(
                f"{path}: SavedModel has no 'serving_float' signature (export it with python -m export)"
            )
        self._loaded = loaded  # keeps the variables alive
        self._signature = loaded.signatures["serving_float"]
        self.radius = _manifest_radius(path)

    def float_call(self, lr: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self._signature(lr=tf.constant(lr))["sr"].numpy()


class TFLiteUpscaler:
    """A .tflite model (float32 input and output), run by the LiteRT interpreter."""

    def __init__(self, path: str, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=path, num_threads=num_threads or os.cpu_count())
        except ValueError as err:
            raise ModelLoadError(f"{path}: not a TFLite model ({err})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._shape = None
        self.radius = _manifest_radius(path)

    def float_call(self, lr: np.ndarray) -> np.ndarray:
        if self._shape != lr.shape:
            self.interpreter.resize_tensor_input(self._input["index"], list(lr.shape))
            self.interpreter.allocate_tensors()
            self._shape = lr.shape
        self.interpreter.set_tensor(self._input["index"], lr)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"])


class OnnxUpscaler:
    """A .onnx model, run by onnxruntime: NCHW (as ``python -m export`` writes) or NHWC float32 in [0, 1]."""

    def __init__(self, path: str, num_threads: int | None = None):
        try:
            import onnxruntime
        except ImportError:
            raise ModelLoadError(
                f"{path}: running .onnx models needs onnxruntime: pip install 'keras-mdsrgan[onnx]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads or 0  # 0: onnxruntime's default (all cores)
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=onnxruntime.get_available_providers())
        except Exception as err:  # onnxruntime raises its own types for unreadable files
            raise ModelLoadError(f"{path}: not an ONNX model ({str(err).splitlines()[0][:200]})") from None
        model_input = self.session.get_inputs()[0]
        self._input = model_input.name
        self._channels_first = model_input.shape[1] == 3
        self.radius = _manifest_radius(path)

    def float_call(self, lr: np.ndarray) -> np.ndarray:
        if not self._channels_first:
            return self.session.run(None, {self._input: lr})[0]
        sr = self.session.run(None, {self._input: np.ascontiguousarray(lr.transpose(0, 3, 1, 2))})[0]
        return sr.transpose(0, 2, 3, 1)


def _manifest_radius(path: str) -> int:
    """The receptive radius recorded by the exporter next to the model, else a safe default."""
    folder = os.path.dirname(os.path.abspath(path))
    for _ in range(4):  # SavedModels sit in OUT/saved_model/NAME/VERSION
        manifest = os.path.join(folder, "manifest.json")
        if os.path.isfile(manifest):
            with open(manifest) as f:
                return int(json.load(f).get("receptive_radius_lr", DEFAULT_OVERLAP))
        folder = os.path.dirname(folder)
    return DEFAULT_OVERLAP


def load(path: str):
    """An upscaler for ``path``: a .keras, .tflite or .onnx file, a SavedModel folder, or
    ``zoo:NAME``, a generator shipped with the package (``keras_mdsrgan.zoo``)."""
    from keras_mdsrgan.model import zoo

    if zoo.is_zoo(path):
        return KerasUpscaler(zoo.load(path))
    if not os.path.exists(path):
        raise ModelLoadError(f"{path}: no such model")
    if path.endswith(".tflite"):
        return TFLiteUpscaler(path)
    if path.endswith(".onnx"):
        return OnnxUpscaler(path)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ModelLoadError(f"{path}: a folder without saved_model.pb")
        return SavedModelUpscaler(path)
    if path.endswith(".keras"):
        import keras

        from keras_mdsrgan.model import layers  # noqa: F401  (registers PixelShuffle)

        try:
            return KerasUpscaler(keras.saving.load_model(path, compile=False))
        except Exception as err:  # Keras raises many types for unreadable files
            raise ModelLoadError(f"{path}: cannot load a Keras model ({str(err).splitlines()[0][:200]})") from None
    raise ModelLoadError(f"{path}: unknown model format (use .keras, .tflite, .onnx or a SavedModel folder)")


def label_models(paths: list[str], labels: list[str] | None = None, taken: tuple[str, ...] = ()) -> dict[str, str]:
    """Name -> path for ``paths``, every name distinct so that no model's scores replace another's.

    The names are ``labels`` when given, else the shortest distinct ones (the stem, with parent
    folders as needed: ``runA/generator_0``, ``runB/generator_0``; ``a/mdsrgan/1``, ``b/mdsrgan/1``).
    Refused: a path given twice, a label count that does not match, two equal names, a name in
    ``taken`` (``bicubic``, a run's ``pairK``).
    """
    first = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in first:
            raise ModelLoadError(f"{path}: the same model as {first[key]}; give each model once")
        first[key] = path
    if labels is None:
        labels = unique_labels(paths)
    elif len(labels) != len(paths):
        raise ModelLoadError(f"--model_names has {len(labels)} names for {len(paths)} models")
    for label, path in zip(labels, paths):
        if label in taken:
            raise ModelLoadError(
                f"{path}: its name {label!r} is taken ({', '.join(taken)}); name the models with --model_names"
            )
        if labels.count(label) > 1:
            raise ModelLoadError(f"two models are named {label!r}; name them apart with --model_names")
    return dict(zip(labels, paths))


def tile_for(tile: int | None, scale: int) -> int | None:
    """The LR tile side for a --tile flag: unset -> 1024 // scale, 0 -> None (whole image), N -> N.

    Tiling by default keeps memory bounded whatever the input size (a whole large photo can need
    more activations than the machine holds); an image within one tile runs whole anyway.
    """
    if tile is None:
        return DEFAULT_TILE_SR // scale
    return tile or None


def model_scale(upscaler) -> int:
    """The upscaling factor, measured on a small input."""
    out = upscaler.float_call(np.zeros((1, 8, 8, 3), np.float32))
    return out.shape[1] // 8


def upscale(upscaler, lr: np.ndarray, tile: int | None = None, overlap: int | None = None, on_tile=None) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (sH, sW, 3), whole or in ``tile``-sized LR tiles.
    ``on_tile(done, total)`` is called after each tile (a progress bar for large images)."""
    lr_float = lr.astype(np.float32)[None] / 255.0
    if not tile or (lr.shape[0] <= tile and lr.shape[1] <= tile):
        return to_uint8(upscaler.float_call(lr_float)[0])
    overlap = upscaler.radius if overlap is None else overlap
    height, width = lr.shape[:2]
    corners = [(y0, x0) for y0 in range(0, height, tile) for x0 in range(0, width, tile)]
    scale = None
    out = None
    for done, (y0, x0) in enumerate(corners, 1):
        y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
        top, left = max(y0 - overlap, 0), max(x0 - overlap, 0)
        bottom, right = min(y1 + overlap, height), min(x1 + overlap, width)
        sr = upscaler.float_call(lr_float[:, top:bottom, left:right])[0]
        if out is None:
            scale = sr.shape[0] // (bottom - top)
            out = np.empty((height * scale, width * scale, 3), np.uint8)
        oy, ox = (y0 - top) * scale, (x0 - left) * scale
        out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = to_uint8(
            sr[oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale]
        )
        if on_tile:
            on_tile(done, len(corners))
    return out


ALPHA_FORMATS = (".png", ".webp", ".tif", ".tiff")  # output formats that keep an alpha channel


def upscale_file(upscaler, source: str, target: str, scale: int, tile=None, overlap=None, on_tile=None) -> None:
    """Upscale one image file as ``upscale`` does: the decoding rule of ``imageio``, tiles, an
    alpha channel upscaled by MATLAB bicubic and kept where ``target``'s format holds one; the
    output written atomically. ``on_tile(done, total)`` after each tile."""
    from keras_mdsrgan.data import imageio

    rgb, alpha = imageio.read_image_and_alpha(source)
    sr = upscale(upscaler, rgb, tile=tile, overlap=overlap, on_tile=on_tile)
    if target.lower().endswith(ALPHA_FORMATS):
        sr = with_alpha(sr, alpha, scale)
    imageio.write_image(target, sr)


def with_alpha(sr: np.ndarray, alpha: np.ndarray | None, scale: int) -> np.ndarray:
    """``sr`` with the input's ``alpha`` upscaled by MATLAB bicubic as a fourth channel (if any)."""
    from keras_mdsrgan.data import resize

    if alpha is None:
        return sr
    return np.concatenate([sr, resize.imresize(alpha[..., None], float(scale)).numpy()], axis=-1)
