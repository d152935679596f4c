"""Make the independent reference values that tests/quality/test_ma.py and tests/quality/test_metrics.py check.

Runs pyiqa and BasicSR (PyTorch projects), implementations independent of ours, on images of
../shared/datasets:

* the Ma et al. (2017) feature vectors f1, f2, f3 of pyiqa's NRQM port;
* pyiqa's NRQM score with ``ma_test_model.mat``, a small forest model in the
  randomforest-matlab layout of the real one, which this script builds (the trained model
  cannot be shipped); its splits fall between the images' features so that different images
  take different paths;
* BasicSR's NIQE of Set5 (its copy of the LIVE parameters, border = scale). pyiqa's NIQE is
  not used: its own calibration puts it up to 0.44 away from the MATLAB release.

It writes ``ma_test_model.mat`` and ``reference.json`` next to itself. Both need torch and
torchvision, which do not belong in our dependencies; run it in a separate environment:

    python3 -m venv /tmp/refvenv && . /tmp/refvenv/bin/activate
    pip install torch==2.14.1 torchvision==0.29.1 pyiqa==0.1.16
    pip install --no-build-isolation --no-deps basicsr==1.4.2
    python tests/reference/make_reference.py
"""

from __future__ import annotations

import glob
import json
import os
import platform
import sys

import numpy as np
import pyiqa
import scipy.io
import torch
import torchvision
import torchvision.transforms.functional
from PIL import Image
from pyiqa.archs import nrqm_arch

# BasicSR 1.4.2 imports a module that torchvision 0.17 removed; its function lives on here.
sys.modules["torchvision.transforms.functional_tensor"] = torchvision.transforms.functional
import basicsr  # noqa: E402
from basicsr.metrics.niqe import calculate_niqe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "datasets", "benchmark")
# (folder under benchmark/, border cropped) of the images whose Ma features are compared
MA_IMAGES = [("Set5/x4/HR", 4), ("Set14/x2/LR", 0)]
NIQE_IMAGES = [("Set5/x2/HR", 2), ("Set5/x4/HR", 4)]
Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def luma(path: str, border: int) -> np.ndarray:
    """MATLAB rgb2ycbcr Y of the uint8 image (grey files replicated to RGB), rounded, cropped."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    y = np.floor(rgb @ Y_WEIGHTS + 16.0 + 0.5)
    return y[border:-border, border:-border] if border else y


def pyiqa_features(y: np.ndarray) -> list[np.ndarray]:
    """f1, f2, f3 exactly as pyiqa's nrqm() computes them before its forests."""
    img = torch.from_numpy(y)[None, None].double()
    pyramid = nrqm_arch.get_gauss_pyramid(img / 255.0)
    f1 = torch.cat([nrqm_arch.block_dct(level) for level in pyramid], dim=1)
    f2 = nrqm_arch.global_gsm(img)
    f3 = torch.cat(
        [torch.linalg.svd(nrqm_arch.im2col(level, 5, "distinct"), full_matrices=False)[1] for level in pyramid], dim=1
    )
    return [f[0].numpy() for f in (f1, f2, f3)]


def random_forest(features: np.ndarray, rng: np.random.Generator, n_trees: int = 25, depth: int = 6) -> dict:
    """A forest in regRF_train's struct layout whose splits separate the given feature rows."""
    trees = [_tree(features, rng, depth) for _ in range(n_trees)]
    n_nodes = max(len(t) for t in trees)
    table = {name: np.zeros((n_nodes, n_trees)) for name in ("lDau", "rDau", "nodestatus", "upper", "avnode", "mbest")}
    for t, nodes in enumerate(trees):
        for k, node in enumerate(nodes):
            for name, value in node.items():
                table[name][k, t] = value
    return {
        "lDau": table["lDau"].astype(np.int32),
        "rDau": table["rDau"].astype(np.int32),
        "nodestatus": table["nodestatus"].astype(np.int32),
        "nrnodes": np.array([[n_nodes]], np.int32),
        "upper": table["upper"],
        "avnode": table["avnode"],
        "mbest": table["mbest"].astype(np.int32),
        "ndtree": np.array([[len(t) for t in trees]], np.int32),
        "ntree": np.array([[n_trees]], np.int32),
        "coef": np.zeros((1, 2)),
    }


def _tree(features: np.ndarray, rng: np.random.Generator, depth: int) -> list[dict]:
    nodes: list[dict] = []

    def grow(rows: np.ndarray, level: int) -> int:
        k = len(nodes)
        nodes.append({"avnode": rng.uniform(0, 10)})
        varying = [a for a in range(features.shape[1]) if np.ptp(features[rows, a]) > 0]
        if level == depth or len(rows) < 2 or not varying:
            nodes[k].update(nodestatus=-1)
            return k
        attribute = int(rng.choice(varying))
        values = np.unique(features[rows, attribute])
        cut = len(values) // 2
        threshold = (values[cut - 1] + values[cut]) / 2  # halfway between two images
        left = grow(rows[features[rows, attribute] <= threshold], level + 1)
        right = grow(rows[features[rows, attribute] > threshold], level + 1)
        nodes[k].update(lDau=left + 1, rDau=right + 1, nodestatus=1, upper=threshold, mbest=attribute + 1)
        return k

    grow(np.arange(len(features)), 0)
    return nodes


def main() -> None:
    images = [
        (os.path.join(folder, os.path.basename(path)), path, border)
        for folder, border in MA_IMAGES
        for path in sorted(glob.glob(os.path.join(DATASETS, folder, "*.png")))
    ]
    lumas = {name: luma(path, border) for name, path, border in images}
    features = {name: pyiqa_features(y) for name, y in lumas.items()}

    rng = np.random.default_rng(2017)
    forests = [random_forest(np.stack([features[n][g] for n in lumas]), rng) for g in range(3)]
    rf = np.empty((1, 3), dtype=object)
    for g, forest in enumerate(forests):
        rf[0, g] = forest
    model_path = os.path.join(HERE, "ma_test_model.mat")
    scipy.io.savemat(model_path, {"model": {"linear": np.array([[2.0], [0.3], [0.4], [0.2]]), "rf": rf}})
    nrqm = nrqm_arch.NRQM(pretrained_model_path=model_path)

    ma = {}
    for name, y in lumas.items():
        f1, f2, f3 = features[name]
        ma[name] = {
            "border": dict((n, b) for n, _, b in images)[name],
            "shape": list(y.shape),
            "luma_sum": float(y.sum()),
            "f1": f1.tolist(),
            "f2": f2.tolist(),
            "f3": f3.tolist(),
            "score": float(nrqm(torch.from_numpy(y)[None, None])),
        }
        print(f"{name}: Ma (test model) {ma[name]['score']:.4f}", flush=True)

    niqe = {}
    for folder, border in NIQE_IMAGES:
        for path in sorted(glob.glob(os.path.join(DATASETS, folder, "*.png"))):
            bgr = np.asarray(Image.open(path).convert("RGB"))[..., ::-1]
            niqe[os.path.join(folder, os.path.basename(path))] = {
                "border": border,
                "niqe": float(calculate_niqe(bgr, crop_border=border, input_order="HWC")),
            }

    about = (
        f"Made by tests/reference/make_reference.py with pyiqa {pyiqa.__version__}, torch "
        f"{torch.__version__}, BasicSR {basicsr.__version__}, Python {platform.python_version()}. "
        "Inputs: MATLAB-rounded BT.601 Y of "
        "../shared/datasets/benchmark images, border cropped. 'ma': pyiqa NRQM features f1/f2/f3 and its "
        "score with ma_test_model.mat (a synthetic forest model, not the trained one); 'niqe': BasicSR "
        "calculate_niqe (convert_to='y') of the RGB file."
    )
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump({"about": about, "ma": ma, "niqe": niqe}, f, indent=1)


if __name__ == "__main__":
    main()
