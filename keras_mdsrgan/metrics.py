"""Image quality metrics as pure NumPy functions, following the SR field's conventions.

PSNR and SSIM are computed on the Y channel of ITU-R BT.601 YCbCr in the 16-235 range
(MATLAB ``rgb2ycbcr``) with ``border`` pixels cropped from every side, in float64.
Grey images are replicated to RGB when decoded, so they too are compared on that Y.
Identical images have PSNR = inf; ``mean_psnr`` averages finite values only and says so.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of a uint8 RGB image as float64 in [16, 235], rounded as MATLAB's uint8 output."""
    rgb = np.asarray(image, dtype=np.float64)
    return np.floor(rgb @ _Y_WEIGHTS + 16.0 + 0.5)


def _prepare(a: np.ndarray, b: np.ndarray, border: int, y_only: bool) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if y_only:
        a, b = rgb_to_y(a), rgb_to_y(b)
    else:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return a, b


def psnr(reference: np.ndarray, test: np.ndarray, border: int = 0, y_only: bool = True) -> float:
    """PSNR in dB of two uint8 RGB images (peak 255); inf when they are identical."""
    a, b = _prepare(reference, test, border, y_only)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, border: int = 0, y_only: bool = True) -> float:
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, peak 255.

    On RGB (``y_only=False``) the mean over the three channels.
    """
    a, b = _prepare(reference, test, border, y_only)
    if a.ndim == 3:
        return float(np.mean([_ssim_gray(a[..., c], b[..., c]) for c in range(a.shape[2])]))
    return _ssim_gray(a, b)


def _ssim_gray(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):  # 'valid' Gaussian filtering, as MATLAB's filter2(window, x, 'valid')
        return ndimage.gaussian_filter(x, 1.5, truncate=3.5, mode="nearest")[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def mean_psnr(values) -> float:
    """Mean of the finite PSNR values (identical pairs, PSNR = inf, are left out); nan if none."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
