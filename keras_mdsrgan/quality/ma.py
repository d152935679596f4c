"""The Ma et al. (2017) no-reference SR quality score and the PIRM perceptual index, in NumPy.

Ma, Yang, Yang, Yang, "Learning a no-reference quality metric for single-image
super-resolution", CVIU 158 (2017); reference code: the sr-metric MATLAB release. An image's
luma gives three feature groups, each fed to its own regression forest; a linear model joins
the three predictions into a score from 0 (worst) to 10 (best):

* f1 (18): statistics of 7x7 block DCTs (stride 3) on a 3-level Gaussian pyramid: generalised
  Gaussian shape, coefficient of variation and orientation variance, averaged over all blocks
  and over the most extreme 10 %;
* f2 (45): a 2-scale, 6-orientation complex steerable pyramid, divisively normalised (a
  Gaussian scale mixture model): shape per band and across scales, and SSIM contrast-structure
  between scales and between orientations;
* f3 (75): singular values of the 5x5 blocks of each pyramid level.

The arithmetic follows pyiqa's NRQM port (github.com/chaofengc/IQA-PyTorch), which its
authors calibrated against the MATLAB release (within 0.01 on their test images); tests check
every feature against pyiqa's values. The trained forests are data we cannot ship: load the
release's ``model.mat`` (or pyiqa's copy, ``NRQM_model.mat``) with :func:`load_model`.

PI = ((10 - Ma) + NIQE) / 2 (PIRM 2018); lower is better.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
from scipy import fft, ndimage, special

from keras_mdsrgan.errors import UserError
from keras_mdsrgan.quality import metrics

# ------------------------------------------------------------------- shared statistics

_SHAPES = np.arange(0.03, 10.001, 0.001, dtype=np.float32).astype(np.float64)
# rho(shape) = Γ(1/s) Γ(3/s) / Γ(2/s)², the variance-to-squared-mean-absolute ratio of a
# generalised Gaussian; it decreases monotonically with the shape s.
_RHOS = np.exp(special.gammaln(1 / _SHAPES) + special.gammaln(3 / _SHAPES) - 2 * special.gammaln(2 / _SHAPES))


def _ggd_shape(samples: np.ndarray) -> np.ndarray:
    """Generalised Gaussian shape of each row by moment matching (nearest tabulated shape)."""
    centred = samples - samples.mean(axis=-1, keepdims=True)
    rho = samples.var(axis=-1, ddof=1) / (np.abs(centred).mean(axis=-1) ** 2 + 1e-7)
    descending = _RHOS[::-1]  # ascending, for searchsorted
    upper = np.clip(np.searchsorted(descending, rho), 1, len(descending) - 1)
    nearer_lower = np.abs(rho - descending[upper - 1]) <= np.abs(descending[upper] - rho)
    index = np.where(nearer_lower, upper - 1, upper)
    return _SHAPES[len(_SHAPES) - 1 - index]


def _coefficient_of_variation(samples: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    magnitude = np.abs(samples)
    return magnitude.std(axis=-1, ddof=1) / (magnitude.mean(axis=-1) + eps)


def _gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``."""
    half = (size - 1) / 2
    y, x = np.ogrid[-half : half + 1, -half : half + 1]
    kernel = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    kernel[kernel < np.finfo(float).eps * kernel.max()] = 0
    return kernel / kernel.sum()


def _gaussian_pyramid(image: np.ndarray, levels: int = 3) -> list[np.ndarray]:
    """Blur with fspecial(3, 0.5) (zero padding) and keep every second pixel, from index 1."""
    kernel = _gaussian_kernel(3, 0.5)
    pyramid = [image]
    for _ in range(levels - 1):
        image = ndimage.correlate(image, kernel, mode="constant")[1::2, 1::2]
        pyramid.append(image)
    return pyramid


def _mean_of_lowest(values: np.ndarray) -> float:
    values = np.sort(values)
    return float(values[: math.ceil(0.1 * len(values)) + 1].mean())


def _mean_of_highest(values: np.ndarray) -> float:
    values = np.sort(values)
    return float(values[math.floor(0.9 * len(values)) :].mean())


# ------------------------------------------------------------------ f1: block DCT


def _block_dcts(image: np.ndarray, size: int = 7, stride: int = 3) -> np.ndarray:
    """2-D DCT-II (orthonormal) of every ``size`` block at ``stride``, zero 'same' padding."""
    padded = []
    for n in image.shape:
        total = (math.ceil(n / stride) - 1) * stride + size - n
        padded.append((total // 2, total - total // 2))
    image = np.pad(image, padded)
    blocks = np.lib.stride_tricks.sliding_window_view(image, (size, size))[::stride, ::stride]
    return fft.dctn(blocks.reshape(-1, size, size), type=2, norm="ortho", axes=(1, 2))


def _orientation_spread(dcts: np.ndarray) -> np.ndarray:
    """Variance over three frequency orientations of each block's coefficient of variation."""
    horizontal = np.concatenate([dcts[:, 0, 1:], dcts[:, 1, 2:], dcts[:, 2, 4:], dcts[:, 3, 5:]], axis=1)
    diagonal = np.concatenate(
        [dcts[:, 1, 1:2], dcts[:, 2, 2:4], dcts[:, 3, 2:5], dcts[:, 4, 3:], dcts[:, 5, 4:], dcts[:, 6, 4:]], axis=1
    )
    vertical = np.concatenate([dcts[:, 1:, 0], dcts[:, 2:, 1], dcts[:, 4:, 2], dcts[:, 5:, 3]], axis=1)
    spreads = np.stack([_coefficient_of_variation(band, 1e-8) for band in (horizontal, diagonal, vertical)])
    return spreads.var(axis=0, ddof=1)


def _dct_features(image: np.ndarray) -> list[float]:
    dcts = _block_dcts(image)
    ac = dcts.reshape(len(dcts), -1)[:, 1:]
    shape, variation, orientation = _ggd_shape(ac), _coefficient_of_variation(ac), _orientation_spread(dcts)
    return [
        _mean_of_lowest(shape),
        float(shape.mean()),
        _mean_of_highest(variation),
        float(variation.mean()),
        _mean_of_highest(orientation),
        float(orientation.mean()),
    ]


# --------------------------------------------------------- f2: steerable pyramid / GSM

_BANDS = 6


def _radial_transition() -> tuple[np.ndarray, np.ndarray]:
    """matlabPyrTools ``rcosFn(1, -0.5)``: a raised-cosine step in log2 radius."""
    n = 256
    x = np.pi * np.arange(-n - 1, 2) / 2 / n
    y = np.cos(x) ** 2
    y[0], y[n + 2] = y[1], y[n + 1]
    return -0.5 + 2 / np.pi * (x + np.pi / 4), y


def _polar_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """log2 radius and angle of every frequency of a centred (fftshift-ed) spectrum."""

    def ramp(n):
        return np.linspace(-(n // 2) / (n / 2), (n // 2) / (n / 2) - (1 - n % 2) * 2 / n, num=n)

    x, y = np.meshgrid(ramp(width), ramp(height))
    radius = np.sqrt(x**2 + y**2)
    radius[height // 2, width // 2] = radius[height // 2, width // 2 - 1]
    return np.log2(radius), np.arctan2(y, x)


def _steerable_pyramid(image: np.ndarray, height: int = 2) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Complex steerable pyramid (matlabPyrTools ``buildSCFpyr``): the high-pass residual and,
    per scale, the real parts of the ``_BANDS`` oriented bands."""
    log_rad, angle = _polar_grid(*image.shape)
    x_rcos, y_rcos = _radial_transition()
    y_rcos = np.sqrt(y_rcos)
    y_ircos = np.sqrt(1 - y_rcos**2)
    spectrum = np.fft.fftshift(np.fft.fft2(image))
    high_pass = np.fft.ifft2(np.fft.ifftshift(spectrum * np.interp(log_rad, x_rcos, y_rcos))).real
    low = spectrum * np.interp(log_rad, x_rcos, y_ircos)

    lut = 1024
    x_cosn = np.pi * np.arange(-(2 * lut + 1), lut + 2) / lut
    alpha = (x_cosn + np.pi) % (2 * np.pi) - np.pi
    order = _BANDS - 1
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (_BANDS * math.factorial(2 * order))
    y_cosn = 2 * np.sqrt(const) * np.cos(x_cosn) ** order * (np.abs(alpha) < np.pi / 2)
    rotation = (-1j) ** order

    scales = []
    for _ in range(height):
        x_rcos = x_rcos - 1
        band_pass = low * np.interp(log_rad, x_rcos, y_rcos)
        scales.append(
            [
                np.fft.ifft2(
                    np.fft.ifftshift(rotation * band_pass * np.interp(angle, x_cosn + np.pi * b / _BANDS, y_cosn))
                ).real
                for b in range(_BANDS)
            ]
        )
        dims = np.array(low.shape)
        start = (np.ceil((dims + 0.5) / 2) - np.ceil((np.ceil((dims - 0.5) / 2) + 0.5) / 2)).astype(int)
        end = start + np.ceil((dims - 0.5) / 2).astype(int)
        crop = (slice(start[0], end[0]), slice(start[1], end[1]))
        log_rad, angle, low = log_rad[crop], angle[crop], low[crop]
        low = low * np.interp(log_rad, x_rcos, y_ircos)
    return high_pass, scales


def _resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MATLAB bicubic ``imresize(image, shape)`` of a float image (symmetric boundary)."""
    from keras_mdsrgan.data import resize  # TensorFlow only when the Ma score is used

    if image.shape == tuple(shape):
        return image
    for axis, size in enumerate(shape):
        matrix = resize.resize_matrix(image.shape[axis], size, size / image.shape[axis], boundary="symmetric").numpy()
        image = np.moveaxis(np.tensordot(matrix, image, axes=(1, axis)), 0, axis)
    return image


def _inner(band: np.ndarray) -> np.ndarray:
    """The band without its 1-pixel border, flattened: the centres of all 3x3 windows."""
    return band[1:-1, 1:-1].ravel()


SINGULAR_RTOL = 1e-10  # real images measured here: smallest/largest eigenvalue >= 4.8e-6
SINGULAR_ATOL = 1e-12  # squared luma levels; a flat image's bands are rounding noise (~1e-27)


def _check_regular(covariance: np.ndarray) -> None:
    """Refuse a numerically singular GSM covariance, decided the same way on every CPU.

    Both tolerances sit six or more orders of magnitude above float64 rounding noise and below
    any 8-bit content, so a flat image, or one whose bands are linearly dependent (a pure step or
    ramp), is refused everywhere, while photographs pass with wide margins. (MATLAB's ``C\\x`` and
    pyiqa's solve only warn or fail there depending on the arithmetic.)
    """
    eigenvalues = np.linalg.eigvalsh(covariance)
    if eigenvalues[-1] <= SINGULAR_ATOL or eigenvalues[0] <= SINGULAR_RTOL * eigenvalues[-1]:
        raise ValueError(
            "the Ma score is undefined: a steerable-pyramid neighbourhood has a singular "
            "covariance (a flat image, or one without texture in some orientation)"
        )


def _divisive_normalisation(scales: list[list[np.ndarray]], eps: float = 1e-12) -> list[np.ndarray]:
    """Each band divided by its GSM multiplier, estimated from the 3x3 neighbourhood, the parent
    band (next coarser scale, upsampled) and the other orientations of the same scale."""
    normalised = []
    for s, bands in enumerate(scales):
        for b, band in enumerate(bands):
            height, width = band.shape[0] - 2, band.shape[1] - 2
            rows = [band[i : i + height, j : j + width].ravel() for i in range(3) for j in range(3)]
            if s + 1 < len(scales):
                rows.append(_inner(_resize(scales[s + 1][b], band.shape)))
            n_neighbours = len(rows)  # the divisor counts the window and the parent, not the orientations
            rows += [_inner(other) for o, other in enumerate(bands) if o != b]
            neighbours = np.stack(rows)  # (features, pixels)
            covariance = neighbours @ neighbours.T / neighbours.shape[1]
            _check_regular(covariance)
            inverse = np.linalg.inv(covariance)  # one small inverse, then a matrix product per pixel
            with np.errstate(invalid="ignore"):  # x' C^-1 x per pixel
                multiplier = np.sqrt(np.einsum("ij,ij->j", inverse @ neighbours, neighbours) / n_neighbours)
            centre = _inner(band) - _inner(band).mean()
            nonzero = multiplier != 0
            g = (centre * nonzero / (multiplier * nonzero + eps)).reshape(height, width)
            guard = 16 // 2**s
            g = g[guard:-guard, guard:-guard]
            normalised.append(g - g.mean())
    return normalised


def _contrast_structure(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM contrast-structure term, negative values clipped to 0."""
    return float(np.maximum(metrics.ssim_maps(a, b)[1], 0).mean())


def _gsm_features(image: np.ndarray) -> list[float]:
    high_pass, scales = _steerable_pyramid(image)
    subbands = _divisive_normalisation(scales)
    features = [float(_ggd_shape(sb.reshape(1, -1))[0]) for sb in subbands]
    features += [
        float(_ggd_shape(np.concatenate([subbands[b].ravel(), subbands[b + _BANDS].ravel()])[None])[0])
        for b in range(_BANDS)
    ]
    features += [_contrast_structure(_resize(band, high_pass.shape), high_pass) for bands in scales for band in bands]
    features += [_contrast_structure(subbands[i], subbands[j]) for i in range(_BANDS) for j in range(i + 1, _BANDS)]
    return features


# --------------------------------------------------------------- f3: block singular values


def _singular_values(image: np.ndarray, size: int = 5) -> np.ndarray:
    """Singular values of the matrix of distinct ``size`` blocks (zero padded at right/bottom)."""
    rows, cols = (math.ceil(n / size) * size for n in image.shape)
    image = np.pad(image, ((0, rows - image.shape[0]), (0, cols - image.shape[1])))
    blocks = image.reshape(rows // size, size, cols // size, size).transpose(0, 2, 1, 3).reshape(-1, size * size)
    return np.linalg.svd(blocks, compute_uv=False)


# ------------------------------------------------------------------------- features

MIN_SIDE = 64  # below this the steerable pyramid's guard bands leave too little


def features(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three feature vectors (18, 45, 75 values) of a luma image in [0, 255], at least 64
    pixels on each side and 84x84 in area (25 blocks of 5x5 at quarter size)."""
    luma = np.asarray(luma, dtype=np.float64)
    if luma.ndim != 2 or min(luma.shape) < MIN_SIDE:
        raise ValueError(f"the Ma score needs a 2-D luma image of at least {MIN_SIDE}x{MIN_SIDE}, got {luma.shape}")
    pyramid = _gaussian_pyramid(luma / 255.0)
    if math.prod(math.ceil(n / 5) for n in pyramid[-1].shape) < 25:
        raise ValueError(f"the Ma score needs 25 blocks of 5x5 at quarter size (e.g. 84x84), got {luma.shape}")
    f1 = np.array([v for level in pyramid for v in _dct_features(level)])
    f2 = np.array(_gsm_features(luma))
    f3 = np.concatenate([_singular_values(level) for level in pyramid])
    return f1, f2, f3


# ------------------------------------------------------------------------ the model


@dataclasses.dataclass(frozen=True)
class Forest:
    """A regression forest in the layout of randomforest-matlab (``regRF_train``): one column
    per tree, node indices 1-based, 0 for 'no daughter' (a leaf)."""

    left: np.ndarray  # lDau
    right: np.ndarray  # rDau
    threshold: np.ndarray  # upper: go left when feature <= threshold
    value: np.ndarray  # avnode: the prediction of a leaf
    attribute: np.ndarray  # mbest: 1-based feature index of a split
    bias: tuple[float, float] = (0.0, 0.0)  # coef: bias correction a + b * y when non-zero

    def predict(self, x: np.ndarray) -> float:
        """Mean over trees of the leaf each tree routes ``x`` to."""
        trees = np.arange(self.left.shape[1])
        node = np.zeros(len(trees), dtype=np.int64)
        for _ in range(self.left.shape[0]):
            inner = self.left[node, trees] != 0
            if not inner.any():
                break
            goes_left = x[self.attribute[node, trees] - 1] <= self.threshold[node, trees]
            child = np.where(goes_left, self.left[node, trees], self.right[node, trees]) - 1
            node = np.where(inner, child, node)
        y = float(self.value[node, trees].mean())
        return self.bias[0] + self.bias[1] * y if any(self.bias) else y


@dataclasses.dataclass(frozen=True)
class MaModel:
    """Three forests (for f1, f2, f3) and the linear model ``[1, y1, y2, y3] @ linear``."""

    forests: tuple[Forest, Forest, Forest]
    linear: np.ndarray

    def score(self, feature_vectors) -> float:
        predictions = [1.0] + [forest.predict(f) for forest, f in zip(self.forests, feature_vectors)]
        return float(np.dot(predictions, self.linear))


class ModelFileError(UserError, ValueError):
    """A missing or unusable Ma model file; the message says what to download."""


MODEL_HELP = (
    "the Ma et al. (2017) model: download model.mat of the sr-metric release "
    "(github.com/chaoma99/sr-metric) or pyiqa's NRQM_model.mat and pass its path"
)


FEATURE_SIZES = (18, 45, 75)


def load_model(path: str) -> MaModel:
    """Read a MATLAB ``model`` struct with ``linear`` (4 values) and ``rf`` (3 forests)."""
    from scipy import io

    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such file; {MODEL_HELP}")
    try:
        model = io.loadmat(path, struct_as_record=False)["model"].flat[0]
        linear = np.asarray(model.linear, dtype=np.float64).ravel()
        forests = tuple(_forest(rf.flat[0] if isinstance(rf, np.ndarray) else rf) for rf in np.asarray(model.rf).flat)
    except (KeyError, AttributeError, ValueError, TypeError, OSError) as error:
        raise ModelFileError(f"{path}: not a Ma et al. model file ({error}); expected {MODEL_HELP}") from None
    if linear.shape != (4,) or len(forests) != 3:
        raise ModelFileError(f"{path}: expected 4 linear weights and 3 forests, got {linear.size} and {len(forests)}")
    for forest, size in zip(forests, FEATURE_SIZES):
        if forest.attribute.max() > size:
            raise ModelFileError(f"{path}: a forest splits on feature {forest.attribute.max()} of {size}")
    return MaModel(forests, linear)


_FOREST_FIELDS = {"ldau": 0, "rdau": 1, "upper": 4, "avnode": 5, "mbest": 6}  # name: position in regRF_train


def _forest(rf) -> Forest:
    """A :class:`Forest` from a randomforest-matlab struct: fields by name (any case) or, in a
    file whose names differ, by their position in regRF_train's struct, as pyiqa reads them."""
    names = list(rf._fieldnames)
    by_name = {name.lower(): name for name in names}
    if not set(_FOREST_FIELDS) <= set(by_name) and len(names) >= 7:
        by_name.update({field: names[i] for field, i in _FOREST_FIELDS.items()})

    def field(name, dtype):
        return np.asarray(getattr(rf, by_name[name]), dtype)

    coef = field("coef", np.float64).ravel() if "coef" in by_name else np.zeros(2)
    return Forest(
        left=field("ldau", np.int64),
        right=field("rdau", np.int64),
        threshold=field("upper", np.float64),
        value=field("avnode", np.float64),
        attribute=field("mbest", np.int64),
        bias=(float(coef[0]), float(coef[1])) if coef.size == 2 else (0.0, 0.0),
    )


# ------------------------------------------------------------------------- scores


def ma_score(luma: np.ndarray, model: MaModel) -> float:
    """Ma et al. score of a luma image in [0, 255] (MATLAB-rounded Y in the PIRM scripts)."""
    return model.score(features(luma))


def perceptual_index(ma: float, niqe: float) -> float:
    """PIRM 2018 perceptual index, ((10 - Ma) + NIQE) / 2; lower is better."""
    return ((10.0 - ma) + niqe) / 2.0
