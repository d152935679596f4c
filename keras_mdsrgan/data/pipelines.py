"""tf.data pipelines: training patches (crop, degrade, augment) and whole evaluation images.

Images are decoded once (``imageio.read_image``) and, when no LR folder is given, degraded
once with the MATLAB-compatible bicubic of ``resize.py``: bicubic degradation has no
randomness, so doing it per whole image is both exact (no patch-border effects) and cheap.
Decoded pairs live in memory, or in ``.npy`` files under ``cache_dir`` that are memory-mapped.

The training stream is a pure function of (seed, element index): element ``i`` picks its
image, crop and one of the 8 flips/rotations from ``stateless_*`` random ops seeded with
``(seed, i)``. Batches are therefore identical for a given seed whatever the parallelism,
and a run resumed at step ``s`` continues with exactly the batch an uninterrupted run would
have drawn.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import os
import re

import numpy as np
import tensorflow as tf

from keras_mdsrgan import files
from keras_mdsrgan.data import imageio, resize
from keras_mdsrgan.errors import UserError

log = logging.getLogger(__name__)

SAMPLE_SPLITS = {
    # Photos bundled with scikit-image (public domain / CC0, see skimage/data/README.txt).
    "train": ("astronaut.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg", "ihc.png"),
    "val": ("chelsea.png",),
}
DIV2K_ARCHIVES = (
    "DIV2K_train_HR.zip",
    "DIV2K_valid_HR.zip",
    "DIV2K_train_LR_{kind}_X{scale}.zip",
    "DIV2K_valid_LR_{kind}_X{scale}.zip",
)
TFDS_CACHE_INDEX = "index.json"  # written last: its presence marks a complete TFDS cache folder


class DataError(UserError, ValueError):
    """A dataset that cannot be used as given; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class ImagePair:
    """One image of a dataset: its name, the HR file and the LR file if one was given."""

    name: str
    hr_path: str
    lr_path: str | None = None


# --------------------------------------------------------------------------- sources


def sample_dir() -> str:
    import skimage  # the sample photos ship with scikit-image

    return os.path.join(os.path.dirname(skimage.__file__), "data")


def resolve_pairs(spec: str) -> list[ImagePair]:
    """Files named by a dataset spec: ``HR_DIR``, ``HR_DIR:LR_DIR``, ``LIST.txt`` or ``sample:SPLIT``."""
    if spec.endswith(".txt"):
        return [ImagePair(_stem(p), p) for p in read_image_list(spec)]
    if spec.startswith("sample:"):
        split = spec.split(":", 1)[1]
        if split not in SAMPLE_SPLITS:
            raise DataError(f"{spec}: unknown sample split; use one of {sorted(SAMPLE_SPLITS)}")
        return [ImagePair(os.path.splitext(n)[0], os.path.join(sample_dir(), n)) for n in SAMPLE_SPLITS[split]]
    hr_dir, _, lr_dir = spec.partition(":")
    if not os.path.isdir(hr_dir):
        raise DataError(f"{spec}: HR folder {hr_dir!r} does not exist")
    hr_files = imageio.list_images(hr_dir)
    if not hr_files:
        raise DataError(f"{spec}: no image files in {hr_dir!r}")
    if not lr_dir:
        return [ImagePair(_stem(p), p) for p in hr_files]
    if not os.path.isdir(lr_dir):
        raise DataError(f"{spec}: LR folder {lr_dir!r} does not exist")
    lr_by_stem = {_stem(p): p for p in imageio.list_images(lr_dir)}
    missing = [_stem(p) for p in hr_files if _stem(p) not in lr_by_stem]
    if missing:
        raise DataError(f"{spec}: no LR file in {lr_dir!r} for HR image(s) {', '.join(missing[:5])}")
    return [ImagePair(_stem(p), p, lr_by_stem[_stem(p)]) for p in hr_files]


def read_image_list(path: str) -> list[str]:
    """The HR images a list file names, one path per line, relative to the list's folder (as
    BasicSR's meta-info files); blank lines and lines starting with ``#`` are ignored. A list
    selects part of a folder, e.g. a validation split held out from the training images."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as err:
        raise DataError(f"{path}: cannot read the image list ({err.strerror})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file of image paths") from None
    folder = os.path.dirname(path)
    images = [os.path.normpath(os.path.join(folder, line)) for line in lines if line and not line.startswith("#")]
    if not images:
        raise DataError(f"{path}: the image list names no images")
    missing = [p for p in images if not os.path.isfile(p)]
    if missing:
        raise DataError(f"{path}: {len(missing)} listed image(s) not found, e.g. {missing[0]}")
    return images


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def load_pair(pair: ImagePair, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode one (LR, HR) uint8 pair; HR is modcropped, LR made by MATLAB bicubic if absent."""
    hr = imageio.read_image(pair.hr_path)
    if pair.lr_path is None:
        hr = resize.modcrop(hr, scale)
        if min(hr.shape[:2]) == 0:
            raise imageio.ImageError(f"{pair.hr_path}: smaller than the scale {scale}")
        return resize.degrade(hr, scale).numpy(), hr
    lr = imageio.read_image(pair.lr_path)
    if hr.shape[0] != lr.shape[0] * scale or hr.shape[1] != lr.shape[1] * scale:
        raise DataError(
            f"{pair.lr_path}: LR size {lr.shape[1]}x{lr.shape[0]} times {scale} "
            f"does not match HR {pair.hr_path} size {hr.shape[1]}x{hr.shape[0]}"
        )
    return lr, hr


# --------------------------------------------------------------------------- decoded store


class PairStore:
    """Decoded (LR, HR) uint8 pairs, in memory or memory-mapped from a cache folder."""

    def __init__(self, lrs: list[np.ndarray], hrs: list[np.ndarray], scale: int):
        if not hrs:
            raise DataError("no usable training images")
        self.lrs, self.hrs, self.scale = lrs, hrs, scale
        self.lr_sizes = np.array([lr.shape[:2] for lr in lrs], dtype=np.int32)

    def __len__(self) -> int:
        return len(self.hrs)

    def crop(self, index, y, x, lr_patch: int):
        """The LR patch at LR pixel (y, x) of image ``index`` and the HR patch aligned with it."""
        s = self.scale
        lr = self.lrs[index][y : y + lr_patch, x : x + lr_patch]
        hr = self.hrs[index][y * s : (y + lr_patch) * s, x * s : (x + lr_patch) * s]
        return np.ascontiguousarray(lr), np.ascontiguousarray(hr)


def build_store(
    pairs: list[ImagePair],
    scale: int,
    hr_patch: int,
    *,
    skip_bad_files: bool = False,
    cache_dir: str | None = None,
    workers: int | None = None,
) -> PairStore:
    """Decode (and degrade) every pair once, reporting unusable files before training starts.

    Undecodable files stop the run with the list of them, unless ``skip_bad_files``; images
    smaller than one HR patch are skipped with a warning.
    """

    def load(pair):
        try:
            return _load_cached(pair, scale, cache_dir) if cache_dir else load_pair(pair, scale)
        except (imageio.ImageError, DataError) as err:
            return err

    workers = workers or min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(load, pairs))
    bad = [str(r) for r in results if isinstance(r, Exception)]
    if bad and not skip_bad_files:
        listing = "\n  ".join(bad)
        raise DataError(f"{len(bad)} unusable image file(s) (pass --skip_bad_files to skip them):\n  {listing}")
    if bad:
        log.warning("skipped %d unusable image file(s), e.g. %s", len(bad), bad[0])
    loaded = [(pair.hr_path, *result) for pair, result in zip(pairs, results) if not isinstance(result, Exception)]
    lrs, hrs, small = _patch_sized(loaded, hr_patch)
    if not hrs:
        raise DataError(
            f"none of the {len(pairs)} training image(s) is usable "
            f"(bad: {len(bad)}, smaller than {hr_patch}px: {small})"
        )
    return PairStore(lrs, hrs, scale)


def _patch_sized(examples, hr_patch: int) -> tuple[list, list, int]:
    """LRs and HRs of the ``(label, lr, hr)`` examples at least one HR patch in each side,
    and the number of the others, which are skipped with a warning naming one of them."""
    lrs, hrs, small = [], [], []
    for label, lr, hr in examples:
        if min(hr.shape[:2]) < hr_patch:
            small.append(label)
        else:
            lrs.append(lr)
            hrs.append(hr)
    if small:
        log.warning(
            "skipped %d image(s) smaller than the %dx%d HR patch, e.g. %s", len(small), hr_patch, hr_patch, small[0]
        )
    return lrs, hrs, len(small)


def _load_cached(pair: ImagePair, scale: int, cache_dir: str):
    """``load_pair`` through a disk cache of ``.npy`` files, returned memory-mapped."""
    key_parts = [pair.hr_path, pair.lr_path or "", str(scale)]
    for path in filter(None, (pair.hr_path, pair.lr_path)):
        stat = os.stat(path)
        key_parts += [str(stat.st_size), str(stat.st_mtime_ns)]
    key = hashlib.sha1("|".join(key_parts).encode()).hexdigest()[:16]
    paths = [os.path.join(cache_dir, f"{pair.name}-{key}-{part}.npy") for part in ("lr", "hr")]
    if not all(os.path.exists(p) for p in paths):
        _save_arrays(paths, load_pair(pair, scale))
    return _memory_map(paths)


def _save_arrays(paths, arrays) -> None:
    """Each array into its ``.npy`` path, atomically (an interrupted run leaves no torn file)."""
    for path, array in zip(paths, arrays):
        files.atomic_write(path, lambda tmp, a=array: np.save(tmp, a))


def _memory_map(paths) -> tuple[np.ndarray, ...]:
    """The ``.npy`` files at ``paths``, memory-mapped read-only (paged in as crops touch them)."""
    return tuple(np.load(p, mmap_mode="r") for p in paths)


def tfds_store(
    name: str,
    scale: int,
    hr_patch: int,
    *,
    data_dir: str | None,
    manual_dir: str | None,
    split: str = "train",
    cache_dir: str | None = None,
) -> PairStore:
    """(LR, HR) pairs from a TensorFlow Datasets builder such as ``div2k/bicubic_x4``.

    DIV2K cannot be downloaded here: the archives must be in ``manual_dir`` first. With a
    ``cache_dir`` the decoded pairs are ``.npy`` files there, memory-mapped rather than held in
    memory, and later runs read them without decoding again. Images smaller than one HR patch
    are skipped with a warning.
    """
    folder = _tfds_cache_folder(cache_dir, name, split, scale) if cache_dir else None
    if folder and os.path.exists(os.path.join(folder, TFDS_CACHE_INDEX)):
        examples = _read_tfds_cache(folder, name, split)
    else:
        examples = _decode_tfds(name, split, scale, data_dir, manual_dir, folder)
    lrs, hrs, small = _patch_sized(examples, hr_patch)
    if not hrs:
        raise DataError(
            f"{name}: none of the {len(examples)} {split} image(s) is usable (smaller than {hr_patch}px: {small})"
        )
    return PairStore(lrs, hrs, scale)


def _decode_tfds(
    name: str, split: str, scale: int, data_dir: str | None, manual_dir: str | None, folder: str | None
) -> list[tuple]:
    """``(label, lr, hr)`` for every example of the split, checked to be at ``scale``.

    With a cache ``folder`` each example is written there as it is decoded and returned
    memory-mapped (so the split is never all in memory), and the index is written last: a run
    stopped half-way leaves no index, and the next one decodes again.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        _check_div2k_archives(name, manual_dir)
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    examples = []
    for i, example in enumerate(tfds.as_numpy(builder.as_dataset(split=split))):
        lr, hr = example["lr"], example["hr"]
        if hr.shape[0] != lr.shape[0] * scale or hr.shape[1] != lr.shape[1] * scale:
            raise DataError(f"{name}: an LR/HR pair is not at scale {scale}")
        if folder:
            paths = _tfds_cache_paths(folder, i)
            _save_arrays(paths, (lr, hr))
            lr, hr = _memory_map(paths)
        examples.append((_tfds_label(name, split, i), lr, hr))
    if folder:
        files.write_json(
            os.path.join(folder, TFDS_CACHE_INDEX),
            {"name": name, "split": split, "scale": scale, "examples": len(examples)},
        )
    return examples


def _read_tfds_cache(folder: str, name: str, split: str) -> list[tuple]:
    """``(label, lr, hr)`` for every example of a completed cache folder, memory-mapped."""
    with open(os.path.join(folder, TFDS_CACHE_INDEX)) as f:
        count = json.load(f)["examples"]
    return [(_tfds_label(name, split, i), *_memory_map(_tfds_cache_paths(folder, i))) for i in range(count)]


def _tfds_cache_folder(cache_dir: str, name: str, split: str, scale: int) -> str:
    """One folder per (builder name, split, scale): readable, and exact through a short hash."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{name}-{split}-x{scale}")
    key = hashlib.sha1(f"{name}|{split}|{scale}".encode()).hexdigest()[:8]
    return os.path.join(cache_dir, "tfds", f"{readable}-{key}")


def _tfds_cache_paths(folder: str, index: int) -> tuple[str, str]:
    """The LR and HR ``.npy`` files of example ``index`` in a TFDS cache folder."""
    return tuple(os.path.join(folder, f"{index:06d}-{part}.npy") for part in ("lr", "hr"))


def _tfds_label(name: str, split: str, index: int) -> str:
    """How a TFDS example is named in warnings: ``div2k/bicubic_x4 train #17``."""
    return f"{name} {split} #{index}"


def _check_div2k_archives(name: str, manual_dir: str | None) -> None:
    if not name.startswith("div2k/"):
        return
    config = name.split("/", 1)[1]  # e.g. bicubic_x4, unknown_x2
    kind, _, scale = config.rpartition("_x")
    wanted = [a.format(kind=kind, scale=scale) for a in DIV2K_ARCHIVES]
    missing = [a for a in wanted if not manual_dir or not os.path.exists(os.path.join(manual_dir, a))]
    if missing:
        where = manual_dir or "a folder passed as --tfds_manual_dir"
        raise DataError(
            f"{name} needs the DIV2K archives {', '.join(missing)} in {where} "
            "(download them from the DIV2K site; this machine has no network)"
        )


def build_training_store(
    specs,
    scale: int,
    hr_patch: int,
    *,
    skip_bad_files: bool = False,
    cache_dir: str | None = None,
    tfds_data_dir: str | None = None,
    tfds_manual_dir: str | None = None,
) -> PairStore:
    """One store from several dataset specs (folders, HR:LR folder pairs, sample:, tfds:)."""
    stores, pairs = [], []
    for spec in specs:
        if spec.startswith("tfds:"):
            stores.append(
                tfds_store(
                    spec[5:], scale, hr_patch, data_dir=tfds_data_dir, manual_dir=tfds_manual_dir, cache_dir=cache_dir
                )
            )
        else:
            pairs.extend(resolve_pairs(spec))
    if pairs:
        stores.append(build_store(pairs, scale, hr_patch, skip_bad_files=skip_bad_files, cache_dir=cache_dir))
    return PairStore([a for s in stores for a in s.lrs], [a for s in stores for a in s.hrs], scale)


# --------------------------------------------------------------------------- pipelines


def training_dataset(
    store: PairStore,
    lr_patch: int,
    batch_size: int,
    *,
    seed: int = 0,
    start_step: int = 0,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Endless batches of (LR, HR) float32 patches in [0, 1], starting at ``start_step``.

    ``batch_size`` is the global batch. With an ``input_context`` (tf.distribute) each input
    pipeline yields its replicas' share of every global batch, disjoint from the others.
    """
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    if batch_size % pipelines:
        raise DataError(f"global batch {batch_size} is not divisible by {pipelines} input pipelines")
    local_batch = batch_size // pipelines
    sizes = tf.constant(store.lr_sizes)
    num_images = len(store)
    hr_patch = lr_patch * store.scale

    def element_ids(step):
        first = step * batch_size + pipeline_id * local_batch
        return tf.data.Dataset.range(first, first + local_batch)

    def crop(index, y, x):
        return store.crop(int(index), int(y), int(x), lr_patch)

    def sample(element):
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.cast(seed, tf.int64), element]), 4)
        index = tf.random.stateless_uniform([], seeds[0], 0, num_images, dtype=tf.int32)
        height, width = sizes[index][0], sizes[index][1]
        y = tf.random.stateless_uniform([], seeds[1], 0, height - lr_patch + 1, dtype=tf.int32)
        x = tf.random.stateless_uniform([], seeds[2], 0, width - lr_patch + 1, dtype=tf.int32)
        lr, hr = tf.numpy_function(crop, [index, y, x], [tf.uint8, tf.uint8], stateful=False)
        lr.set_shape([lr_patch, lr_patch, 3])
        hr.set_shape([hr_patch, hr_patch, 3])
        lr, hr = augment(lr, hr, seeds[3])
        return tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0

    ds = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max // batch_size)
    ds = ds.flat_map(element_ids)
    ds = ds.map(sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(local_batch, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def augment(lr: tf.Tensor, hr: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Apply the same one of the 8 flips/90-degree rotations to both patches."""
    choice = tf.random.stateless_uniform([], seed, 0, 8, dtype=tf.int32)
    lr, hr = tf.image.rot90(lr, choice % 4), tf.image.rot90(hr, choice % 4)
    flip = choice >= 4
    lr = tf.cond(flip, lambda: tf.image.flip_left_right(lr), lambda: lr)
    hr = tf.cond(flip, lambda: tf.image.flip_left_right(hr), lambda: hr)
    return lr, hr


def evaluation_images(spec: str, scale: int, max_images: int | None = None, check=None):
    """Yield ``(name, lr, hr, grey)`` whole images one at a time (bounded memory).

    lr and hr are uint8 RGB; grey says the HR file was single-channel (see ``metrics``).
    ``check(hr_path, hr, scale)``, when given, may refuse an image by raising ``ImageError``
    (``quality.metrics.require_scorable``: too small to score).
    """
    for pair in resolve_pairs(spec)[:max_images]:
        lr, hr = load_pair(pair, scale)
        if check:
            check(pair.hr_path, hr, scale)
        yield pair.name, lr, hr, imageio.is_grey_file(pair.hr_path)


def evaluation_dataset(spec: str, scale: int, max_images: int | None = None) -> tf.data.Dataset:
    """``evaluation_images`` as a tf.data pipeline of (name, lr, hr, grey), any image size."""
    signature = (
        tf.TensorSpec([], tf.string),
        tf.TensorSpec([None, None, 3], tf.uint8),
        tf.TensorSpec([None, None, 3], tf.uint8),
        tf.TensorSpec([], tf.bool),
    )
    return tf.data.Dataset.from_generator(
        lambda: evaluation_images(spec, scale, max_images), output_signature=signature
    )
