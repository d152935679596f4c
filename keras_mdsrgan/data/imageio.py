"""Decode any image file to 8-bit RGB by one documented rule, and write images atomically.

The rule (applied in this order):
  * the first frame of a multi-frame file is used; EXIF orientation is ignored (as MATLAB);
  * 16-bit samples keep their high byte (value // 256), as Pillow does for 16-bit RGB;
  * palette images are expanded to their colours;
  * alpha is dropped (the colour channels are kept as stored);
  * grayscale is replicated to three channels; CMYK and YCbCr are converted to RGB.
Anything Pillow cannot decode (empty, truncated, not an image) raises ``ImageError``
naming the file, and so does an image of more pixels than the limit (a guard against
decompression bombs: a few KB of PNG can claim 20000x20000 pixels), checked on the header
before anything is decoded; ``set_max_image_pixels`` sets it (default: Pillow's limit).
``output_files`` plans where a file or folder is upscaled to without losing a result or an input;
an output Pillow cannot write (an unknown or read-only format, a folder, no permission) raises
``ImageError`` too, before any work where it can be told from the name.
"""

from __future__ import annotations

import functools
import io
import os
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_mdsrgan.errors import UserError
from keras_mdsrgan.files import atomic_write

IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".gif",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
    ".tga",
    ".jp2",
    ".j2k",
    ".avif",
)  # what a folder's images are found by
DEFAULT_MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's limit, 89478485 (about 9459 x 9459)
_max_image_pixels = DEFAULT_MAX_IMAGE_PIXELS


class ImageError(UserError, ValueError):
    """A file that cannot be read or written as asked; the message names the file."""


class WriteError(ImageError):
    """An output that the file system refused (no permission, a full disk, a file in the way):
    unlike a bad input, it would refuse the next output too."""


def set_max_image_pixels(limit: int) -> None:
    """Refuse images of more than ``limit`` pixels from now on, with one line naming the file.

    The check is this module's own, exact. Pillow's warning above its limit is silenced where
    files are opened; its error above twice that limit is switched off here, process-wide, so
    that a raised limit is not refused by Pillow first. Meant for the command lines, which own
    their process.
    """
    global _max_image_pixels
    _max_image_pixels = limit
    Image.MAX_IMAGE_PIXELS = None


def _open(path: str) -> Image.Image:
    """``Image.open`` (the header only), refusing a file that cannot be read or is empty, and an
    image above the pixel limit before decoding it."""
    try:
        if os.path.getsize(path) == 0:
            raise ImageError(f"{path}: empty file")
        with warnings.catch_warnings():  # Pillow warns above its limit; the check below refuses in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:  # no file to decode
        raise ImageError(f"{path}: cannot read ({err.strerror})") from None
    except Image.DecompressionBombError as err:  # Pillow's own guard, on until set_max_image_pixels
        raise ImageError(f"{path}: {err} (raise the limit with --max_image_pixels)") from None
    pixels = image.width * image.height
    if pixels > _max_image_pixels:
        image.close()
        raise ImageError(
            f"{path}: {image.width}x{image.height} = {pixels} pixels, above the limit of "
            f"{_max_image_pixels} (a guard against decompression bombs; raise it with "
            "--max_image_pixels)"
        )
    return image


def list_images(folder: str) -> list[str]:
    """Image files directly inside ``folder`` (by extension), sorted by name; hidden files (such
    as macOS's ``._NAME.jpg`` metadata) and folders named like images are not images."""
    if not os.path.isdir(folder):
        raise ImageError(f"{folder}: not a folder")
    try:
        names = sorted(
            n
            for n in os.listdir(folder)
            if n.lower().endswith(IMAGE_EXTENSIONS)
            and not n.startswith(".")
            and not os.path.isdir(os.path.join(folder, n))
        )
    except OSError as err:
        raise ImageError(f"{folder}: cannot list the folder ({err.strerror})") from None
    return [os.path.join(folder, n) for n in names]


def output_files(source: str, target: str) -> list[tuple[str, str]]:
    """(input, output) files for upscaling ``source`` to ``target``: a file to a file, or each
    image of a folder to TARGET/STEM.png.

    Refused before any work: two inputs with one output (``a.png`` and ``a.jpg``), which would
    silently keep one result, an output that is an input file, which would replace it, a missing
    input, and a file's output that is a folder or of a format Pillow cannot write.
    """
    if os.path.isdir(source):
        if os.path.exists(target) and not os.path.isdir(target):
            raise ImageError(f"{target}: a file, but the output of folder {source} must be a folder")
        inputs = list_images(source)
        if not inputs:
            raise ImageError(f"{source}: no image files")
        jobs = [(path, os.path.join(target, os.path.splitext(os.path.basename(path))[0] + ".png")) for path in inputs]
    else:
        if not os.path.exists(source):
            raise ImageError(f"{source}: no such file or folder")
        if os.path.isdir(target):
            raise ImageError(f"{target}: a folder, but the output of file {source} must be a file")
        _writable_format(target)
        jobs = [(source, target)]
    input_files = {os.path.realpath(path) for path, _ in jobs}
    writers = {}
    for path, output in jobs:
        key = os.path.realpath(output)
        if key in input_files:
            raise ImageError(f"{output}: the output of {path} would replace this input file; choose another output")
        if key in writers:
            raise ImageError(
                f"{writers[key]} and {path} would both be written to {output}; rename one or upscale them apart"
            )
        writers[key] = path
    return jobs


GREY_MODES = ("1", "L", "LA", "La", "I;16", "I;16B", "I;16L", "I;16N", "I")


def is_grey_file(path: str) -> bool:
    """True when ``path`` stores a single grey channel (with or without alpha); reads the header only."""
    try:
        with _open(path) as image:
            return image.mode in GREY_MODES or _png_raw_mode(image) == "LA;16B"
    except (UnidentifiedImageError, OSError) as err:
        raise ImageError(f"{path}: cannot decode image ({err})") from None


def _png_raw_mode(image: Image.Image) -> str | None:
    """The samples as a PNG stores them: Pillow opens 16-bit grey + alpha (``LA;16B``) as RGBA."""
    return image.tile[0].args if image.format == "PNG" and image.tile else None


def _to_uint8_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image).astype(np.int64)
        if values.max(initial=0) > 65535 or values.min(initial=0) < 0:
            raise ValueError(f"32-bit integer samples out of the 16-bit range ({mode})")
        gray = (values // 256).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        raise ValueError("floating-point images are not supported; save it as 8- or 16-bit")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("1", "L", "LA", "La"):
        gray = np.asarray(image.convert("L"))
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode in ("RGBA", "RGBa", "RGBX"):
        return np.asarray(image)[..., :3].copy()
    return np.asarray(image.convert("RGB"))


def read_image(path: str) -> np.ndarray:
    """Decode ``path`` to an ``(H, W, 3)`` uint8 array by the module's rule."""
    return read_image_and_alpha(path)[0]


def read_image_and_alpha(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``read_image`` plus the alpha channel as (H, W) uint8, or None when there is none."""
    try:
        with _open(path) as image:
            image.seek(0)
            image.load()
            array = _to_uint8_rgb(image)
            alpha = _alpha(image)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: cannot decode image ({err})") from None
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ImageError(f"{path}: decoded to an unusable shape {array.shape}")
    return np.ascontiguousarray(array), alpha


def _alpha(image: Image.Image) -> np.ndarray | None:
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        return np.asarray(image.getchannel("A")).copy()
    return None


def write_image(path: str, image: np.ndarray) -> None:
    """Save a uint8 ``(H, W, 3)`` or ``(H, W, 4)`` array atomically (format from the extension)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"write_image expects uint8, got {array.dtype}")
    fmt = _writable_format(path)
    try:
        atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format=fmt))
    except (OSError, ValueError) as err:  # no permission, a file in the way, a full disk
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err  # not the temporary's name
        raise WriteError(f"{path}: cannot write image ({reason})") from None


def _writable_format(path: str) -> str:
    """The Pillow format ``path`` is saved in, by extension; ``ImageError`` if it cannot hold 8-bit RGB."""
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or not _saves_rgb(fmt):
        kind = f"{ext} images" if ext else "an image without an extension"
        raise ImageError(f"{path}: cannot write {kind}; use .png, .jpg, .webp, .tif or .bmp")
    return fmt


@functools.cache
def _saves_rgb(fmt: str) -> bool:
    """Whether Pillow can save an 8-bit RGB image as ``fmt`` (tried on one pixel, in memory)."""
    try:
        Image.new("RGB", (1, 1)).save(io.BytesIO(), format=fmt)
    except (KeyError, OSError, ValueError):  # no save handler, or none for RGB
        return False
    return True
