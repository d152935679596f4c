"""docs/MODELS.md's tables of the zoo, re-made from the shipped files.

  python scripts/zoo_tables.py [--doc=docs/MODELS.md] [--check]

Each table sits between `<!-- table:NAME -->` and `<!-- /table -->` in the doc and is rewritten
from what ships: `ships` (the listing of `python -m keras_mdsrgan.zoo`), `ladder` (the PSNR-oriented
models beside the published figures), `perceptual` (models chosen by NIQE beside bicubic and the
PSNR-oriented models of their scale, from the cards packed with the weights) and `deploy:NAME`
(the export parity in docs/zoo/NAME/manifest.json). --check rewrites nothing and exits 1 when
the doc differs from the files. No TensorFlow needed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from keras_mdsrgan import files  # noqa: E402
from keras_mdsrgan.model import zoo  # noqa: E402
from keras_mdsrgan.zoo import cards  # noqa: E402

flags.DEFINE_string("doc", "docs/MODELS.md", "The Markdown file whose tables are rewritten.")
flags.DEFINE_bool("check", False, "Rewrite nothing; exit 1 when the doc's tables differ from the files.")
FLAGS = flags.FLAGS

# PSNR (Y, border = scale) on Set5 / Set14 from the papers: bicubic and FSRCNN (Dong et al. 2016),
# VDSR (Kim et al. 2016, trained on the same 291 images), SRResNet (Ledig et al. 2017, ImageNet).
PUBLISHED = {
    "bicubic": {2: (33.66, 30.24), 4: (28.42, 26.00)},
    "FSRCNN": {2: (37.00, 32.63), 4: (30.55, 27.50)},
    "VDSR (same 291 images)": {2: (37.53, 33.03), 4: (31.35, 28.01)},
    "SRResNet (ImageNet, 10⁶ steps)": {4: (32.05, 28.49)},
}
DATASETS = ("Set5", "Set14")
MARKED = re.compile(r"(<!-- table:(\S+) -->\n)(.*?)(<!-- /table -->)", re.S)


def _rows(head: list[str], rows: list[list[str]]) -> str:
    lines = [head, ["---"] * len(head), *rows]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


def _psnrs(scores: dict) -> str:
    return " / ".join(f"{scores[d]['psnr']:.2f}" for d in DATASETS)


def ladder(shipped: dict[str, dict]) -> str:
    """Set5 / Set14 PSNR of the PSNR-oriented models, one row per scale, beside the published."""
    rows = []
    for scale in sorted({c["scale"] for c in shipped.values()}):
        published = [PUBLISHED[m].get(scale) for m in PUBLISHED]
        ours = [
            f"`{name}`: **{_psnrs(c['scores'])}**"
            for name, c in shipped.items()
            if c["scale"] == scale and not zoo.perceptual(c)
        ]
        rows.append(
            [f"x{scale}", *("–" if p is None else f"{p[0]:.2f} / {p[1]:.2f}" for p in published), ", ".join(ours)]
        )
    return _rows(["", *PUBLISHED, "zoo"], rows)


def perceptual(shipped: dict[str, dict]) -> str:
    """NIQE / PSNR / SSIM of each scale's models with a perceptual one among them, and bicubic's."""
    tables = []
    for scale in sorted({c["scale"] for c in shipped.values() if zoo.perceptual(c)}):
        models = {name: c for name, c in shipped.items() if c["scale"] == scale}
        bicubic = next(c["bicubic"] for c in models.values() if zoo.perceptual(c))

        def cell(s):
            return f"{s['niqe']:.2f} / {s['psnr']:.2f} / {s['ssim']:.4f}"

        rows = [[d, cell(bicubic[d]), *(cell(c["scores"][d]) for c in models.values())] for d in DATASETS]
        tables.append(_rows([f"x{scale}, NIQE / PSNR / SSIM", "bicubic", *(f"`{n}`" for n in models)], rows))
    return "\n\n".join(tables)


def deploy(manifest: dict) -> str:
    """The export's parity per format: size, agreement with Keras and with HR, latency."""
    parity, sizes = manifest["parity"], manifest["files"]
    rows = []
    for fmt, p in parity.items():
        if not isinstance(p, dict) or fmt == "saved_model":
            continue
        if fmt == "keras":
            name, size = "keras / saved_model", f"{sizes['saved_model']['bytes'] / 1e6:.1f} MB (SavedModel)"
        else:
            name = "tflite_int8 (full integer)" if fmt == "tflite_int8" else fmt
            size = f"{sizes[fmt]['bytes'] / 1e6:.1f} MB"
        vs_keras = float(p["psnr_vs_keras_db"])
        rows.append(
            [
                name,
                size,
                "exact" if math.isinf(vs_keras) else f"{vs_keras:.1f}",
                str(p["max_abs_diff_vs_keras"]),
                f"{p['psnr_vs_hr_db']:.2f}",
                f"{p['latency_ms_median']:.0f}",
            ]
        )
    return _rows(
        ["format", "size", "vs Keras (dB, RGB)", "max diff (grey levels)", "vs HR (dB, Y)", "latency (ms)"], rows
    )


def render(doc: str, root: str) -> str:
    """``doc`` with every marked table re-made from the shipped files (manifests under ``root``)."""
    shipped = {name: zoo.info(name) for name in zoo.names()}

    def table(kind: str) -> str:
        if kind == "ships":
            return cards.shipped_table()
        if kind == "ladder":
            return ladder(shipped)
        if kind == "perceptual":
            return perceptual(shipped)
        if kind.startswith("deploy:"):
            with open(os.path.join(root, "docs", "zoo", kind.split(":", 1)[1], "manifest.json")) as f:
                return deploy(json.load(f))
        raise ValueError(f"unknown table {kind!r}")

    return MARKED.sub(lambda m: f"{m[1]}{table(m[2])}\n{m[4]}", doc)


def main(argv) -> int:
    del argv
    with open(FLAGS.doc, encoding="utf-8") as f:
        doc = f.read()
    made = render(doc, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if FLAGS.check:
        if made != doc:
            print(f"{FLAGS.doc}: its zoo tables differ from the shipped files; run python scripts/zoo_tables.py")
            return 1
        print(f"{FLAGS.doc}: {len(MARKED.findall(doc))} tables match the shipped files")
        return 0
    files.write_text(FLAGS.doc, made)
    print(f"wrote {FLAGS.doc}: {len(MARKED.findall(made))} tables")
    return 0


if __name__ == "__main__":
    app.run(main)
