"""Image quality metrics as pure NumPy functions, following the SR field's conventions.

PSNR and SSIM are computed on the Y channel of ITU-R BT.601 YCbCr in the 16-235 range
(MATLAB ``rgb2ycbcr`` of a double image, i.e. not rounded, as BasicSR's ``to_y_channel``) with
``border`` pixels cropped from every side, in float64. NIQE uses the rounded (uint8) Y of its
MATLAB release.
With ``grey=True`` (the reference came from a single-channel file) they are computed on its
grey levels instead, the test image reduced by MATLAB ``rgb2gray``: the MATLAB evaluation
scripts behind the published tables skip ``rgb2ycbcr`` for single-channel images (Set14's
bridge), and only this convention reproduces the published Set14 bicubic baselines.
Identical images have PSNR = inf; ``mean_psnr`` averages finite values only and says so.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from scipy import ndimage, special

from keras_mdsrgan import RESOURCES
from keras_mdsrgan.data import imageio

SSIM_WINDOW = 11  # side of SSIM's Gaussian window: a smaller image (after the border crop) has no score


def require_scorable(path: str, hr: np.ndarray, scale: int) -> None:
    """Refuse (``ImageError``, naming ``path``) an HR image too small to score at ``scale``:
    below SSIM's window inside the ``scale``-pixel border, PSNR and SSIM would be NaN."""
    smallest = SSIM_WINDOW + 2 * scale
    if min(hr.shape[:2]) < smallest:
        raise imageio.ImageError(
            f"{path}: {hr.shape[1]}x{hr.shape[0]} HR pixels are too few to score at x{scale}: PSNR and SSIM "
            f"need {smallest} a side ({SSIM_WINDOW} inside the {scale}-pixel border)"
        )


_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(image: np.ndarray, rounded: bool = False) -> np.ndarray:
    """BT.601 luma of a uint8 RGB image as float64 in [16, 235]; ``rounded`` as MATLAB's uint8 output."""
    y = np.asarray(image, dtype=np.float64) @ _Y_WEIGHTS + 16.0
    return np.floor(y + 0.5) if rounded else y


_GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])  # MATLAB rgb2gray


def rgb_to_gray(image: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of a uint8 RGB image as float64 in [0, 255], rounded like its uint8 output."""
    return np.floor(np.asarray(image, dtype=np.float64) @ _GRAY_WEIGHTS + 0.5)


def _prepare(a: np.ndarray, b: np.ndarray, border: int, y_only: bool, grey: bool) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if grey:
        a, b = np.asarray(a[..., 0], np.float64), rgb_to_gray(b)
    elif y_only:
        a, b = rgb_to_y(a), rgb_to_y(b)
    else:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return a, b


def psnr(reference: np.ndarray, test: np.ndarray, border: int = 0, y_only: bool = True, grey: bool = False) -> float:
    """PSNR in dB of two uint8 RGB images (peak 255); inf when they are identical."""
    a, b = _prepare(reference, test, border, y_only, grey)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, border: int = 0, y_only: bool = True, grey: bool = False) -> float:
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, peak 255.

    On RGB (``y_only=False``) the mean over the three channels.
    """
    a, b = _prepare(reference, test, border, y_only, grey)
    if a.ndim == 3:
        return float(np.mean([_ssim_gray(a[..., c], b[..., c]) for c in range(a.shape[2])]))
    return _ssim_gray(a, b)


def ssim_maps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSIM's luminance and contrast-structure maps of two float images in [0, 255] ('valid'
    11x11 Gaussian window, σ = 1.5, as MATLAB's filter2(window, x, 'valid'))."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):
        return ndimage.gaussian_filter(x, 1.5, truncate=3.5, mode="nearest")[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1), (2 * cov + c2) / (var_a + var_b + c2)


def _ssim_gray(a: np.ndarray, b: np.ndarray) -> float:
    luminance, contrast_structure = ssim_maps(a, b)
    return float((luminance * contrast_structure).mean())


def mean_psnr(values) -> float:
    """Mean of the finite PSNR values (identical pairs, PSNR = inf, are left out); nan if none."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


# --------------------------------------------------------------------------- NIQE

_NIQE_PARAMS = os.path.join(RESOURCES, "niqe_pris_params.npz")
_GAMMAS = np.arange(0.2, 10.001, 0.001)
_R_GAMMAS = special.gamma(2 / _GAMMAS) ** 2 / (special.gamma(1 / _GAMMAS) * special.gamma(3 / _GAMMAS))


@functools.lru_cache(maxsize=1)
def _niqe_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = np.load(_NIQE_PARAMS)
    return params["mu_pris_param"], params["cov_pris_param"], params["gaussian_window"]


def _aggd_fit(values: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: (shape, left scale, right scale)."""
    values = values.ravel()
    negative, positive = values[values < 0], values[values > 0]
    left = np.sqrt(np.mean(negative**2)) if negative.size else np.nan  # NaN: a flat block
    right = np.sqrt(np.mean(positive**2)) if positive.size else np.nan
    gamma_hat = left / right
    r_hat = np.mean(np.abs(values)) ** 2 / np.mean(values**2)
    r_hat_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = _GAMMAS[np.argmin((_R_GAMMAS - r_hat_norm) ** 2)]
    spread = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    return alpha, left * spread, right * spread


def _block_features(block: np.ndarray) -> list[float]:
    """18 NSS features of one block: its AGGD fit and that of 4 pairwise products."""
    alpha, left, right = _aggd_fit(block)
    features = [alpha, (left + right) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        alpha, left, right = _aggd_fit(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * special.gamma(2 / alpha) / special.gamma(1 / alpha)
        features += [alpha, mean, left, right]
    return features


def niqe(image: np.ndarray, border: int = 0, block: int = 96) -> float:
    """NIQE (Mittal et al. 2013) of a uint8 RGB image; lower is more natural. Needs two 96x96 blocks.

    As the MATLAB release: MATLAB-rounded Y, ``border`` cropped, 96x96 blocks, two scales (the
    second by antialiased bicubic halving), pristine model of LIVE. Arithmetic in float32 like
    the common reference port (BasicSR), which it matches to 0.01.
    """
    mu_pris, cov_pris, window = _niqe_model()
    y = rgb_to_y(image, rounded=True)
    if border:
        y = y[border:-border, border:-border]
    rows, cols = y.shape[0] // block, y.shape[1] // block
    if rows * cols < 2:  # the feature covariance needs two blocks
        raise ValueError(f"NIQE needs at least two {block}x{block} blocks after the border crop, got {y.shape}")
    y = y[: rows * block, : cols * block].astype(np.float32)
    features = []
    with np.errstate(invalid="ignore", divide="ignore"):  # flat blocks give NaN features, left out below
        for level in (1, 2):
            mu = ndimage.convolve(y, window, mode="nearest")
            sigma = np.sqrt(np.abs(ndimage.convolve(np.square(y), window, mode="nearest") - np.square(mu)))
            normalised = (y - mu) / (sigma + 1)
            size = block // level
            features.append(
                np.array(
                    [
                        _block_features(normalised[r * size : (r + 1) * size, c * size : (c + 1) * size])
                        for c in range(cols)
                        for r in range(rows)
                    ]
                )
            )
            if level == 1:
                y = _half(y / 255.0) * 255.0
    features = np.concatenate(features, axis=1)
    usable = features[~np.isnan(features).any(axis=1)]
    if len(usable) < 2:
        raise ValueError(f"NIQE is undefined: fewer than two of the {len(features)} blocks have texture")
    mu_dist = np.nanmean(features, axis=0)
    cov_dist = np.cov(usable, rowvar=False)
    diff = mu_pris - mu_dist
    return float(np.sqrt(np.squeeze(diff @ np.linalg.pinv((cov_pris + cov_dist) / 2) @ diff.T)))


def _half(gray: np.ndarray) -> np.ndarray:
    """``imresize(gray, 0.5, 'bicubic')`` of a float image with the symmetric boundary of the
    reference NIQE ports, in float32."""
    from keras_mdsrgan.data import resize  # TensorFlow only when NIQE is used

    return resize.imresize(gray[..., None], 0.5, boundary="symmetric").numpy()[..., 0]
