"""The zoo's pictures in docs/MODELS.md and the README, re-made from the shipped package.

  python scripts/zoo_figures.py [--out=docs/zoo] [--models=zoo:x4,zoo:x4-gan] [--photo=astronaut]
      [--runs=x2=runs/zoo_x2,...]

crops.png: a crop of a scikit-image photo (none is in the zoo's training images), side by side: bicubic |
each of --models (those shipped or given as files) | the original. The photo is cut to a multiple
of the scale and downscaled by MATLAB-compatible bicubic, as the models' training data were.
curves.png: each zoo model's validation PSNR against training step (the curve packed in its
card), and the curves of --runs (training runs still going, from their validation.jsonl); a model
chosen by NIQE (a GAN stage) in a panel of its own, with its NIQE curve.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402
from absl import app, flags  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from keras_mdsrgan import files, names  # noqa: E402
from keras_mdsrgan.data import resize  # noqa: E402
from keras_mdsrgan.model import inference, zoo  # noqa: E402

flags.DEFINE_string("out", "docs/zoo", "Folder of crops.png and curves.png.")
flags.DEFINE_list("models", ["zoo:x4", "zoo:x4-gan"], "Models shown in crops.png (zoo:NAME or files), one scale.")
flags.DEFINE_string("photo", "astronaut", "A scikit-image photo (skimage.data.NAME).")
flags.DEFINE_list("crop", ["40", "150", "160"], "The crop's top, left and side in HR pixels.")
flags.DEFINE_list("runs", [], "NAME=RUN_DIR of runs still training, drawn beside the shipped curves.")
FLAGS = flags.FLAGS


def available(models: list[str]) -> list[str]:
    """The models that can be loaded here: shipped zoo names and existing files."""
    shipped = set(zoo.names())
    return [m for m in models if (m[len(zoo.PREFIX) :] in shipped if zoo.is_zoo(m) else os.path.exists(m))]


def crops(models: list[str], path: str) -> None:
    from skimage import data

    upscalers = {m: inference.load(m) for m in models}
    scales = {inference.model_scale(u) for u in upscalers.values()}
    if len(scales) != 1:
        sys.exit(f"--models need one scale, got {sorted(scales)}")
    scale = scales.pop()
    photo = getattr(data, FLAGS.photo)()
    photo = photo[: photo.shape[0] // scale * scale, : photo.shape[1] // scale * scale, :3]
    lr = resize.imresize(photo, 1 / scale).numpy()
    top, left, side = map(int, FLAGS.crop)
    panels = {"bicubic": resize.imresize(lr, float(scale)).numpy()}
    for model, upscaler in upscalers.items():
        panels[os.path.basename(model.removeprefix(zoo.PREFIX))] = inference.upscale(upscaler, lr)
    panels["original"] = photo
    figure, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    for axis, (name, image) in zip(axes, panels.items()):
        axis.imshow(image[top : top + side, left : left + side], interpolation="nearest")
        axis.set_title(name, fontsize=10)
        axis.axis("off")
    figure.suptitle(f"x{scale}, a crop of scikit-image's '{FLAGS.photo}'", fontsize=10)
    _save(figure, path)


def curves(path: str) -> bool:
    """False when there is nothing to draw. PSNR-oriented models (and --runs) share one panel; each
    model chosen by a perceptual score (a GAN stage) gets its own: holdout PSNR and NIQE against
    step, the shipped step marked."""
    from keras_mdsrgan.training.validation import read_history

    cards = {name: zoo.info(name) for name in zoo.names()}
    trainings = {name: card.get("training", {}) for name, card in cards.items()}
    perceptual = {n: t for n, t in trainings.items() if zoo.perceptual(cards[n]) and t.get("niqe_curve")}
    lines = {n: t.get("curve") or [] for n, t in trainings.items() if n not in perceptual}
    for spec in FLAGS.runs:
        name, run_dir = spec.split("=", 1)
        history = read_history(run_dir)
        lines[f"{name} (training)"] = [[r["step"], r[names.pair_name(0)]["psnr"]] for r in history]
    lines = {name: points for name, points in lines.items() if points}
    if not lines and not perceptual:
        return False
    panels = int(bool(lines)) + len(perceptual)
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 3.8), squeeze=False)
    axes = list(axes[0])
    if lines:
        _psnr_panel(axes.pop(0), lines)
    for axis, (name, training) in zip(axes, perceptual.items()):
        _gan_panel(axis, name, training)
    _save(figure, path)
    return True


def _psnr_panel(axis, lines: dict[str, list]) -> None:
    """The PSNR-oriented models' (and --runs') validation PSNR against training step."""
    for name, points in lines.items():
        axis.plot(*zip(*points), marker="o", ms=3, label=name)
    axis.set(xlabel="training step", ylabel="validation PSNR (dB, Y)", title="PSNR on the held-out split")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)


def _gan_panel(axis, name: str, training: dict) -> None:
    """One GAN-stage model's validation PSNR and NIQE against step, its shipped step marked."""
    axis.plot(*zip(*training["curve"]), marker="o", ms=3, color="tab:green", label="PSNR")
    axis.set(xlabel="GAN step", ylabel="validation PSNR (dB, Y)", title=f"{name} on the held-out split")
    axis.grid(alpha=0.3)
    twin = axis.twinx()
    twin.plot(*zip(*training["niqe_curve"]), marker="s", ms=3, color="tab:red", label="NIQE (lower is better)")
    twin.set_ylabel("validation NIQE")
    axis.axvline(training["step"], color="grey", ls="--", lw=1, label=f"shipped (step {training['step']})")
    handles = [h for a in (axis, twin) for h in a.get_legend_handles_labels()[0]]
    axis.legend(handles, [h.get_label() for h in handles], fontsize=8)


def _save(figure, path: str) -> None:
    figure.tight_layout()
    files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    plt.close(figure)
    print(f"wrote {path}")


def main(argv) -> int:
    del argv
    models = available(FLAGS.models)
    if models:
        crops(models, os.path.join(FLAGS.out, "crops.png"))
    else:
        print(f"crops.png: none of {', '.join(FLAGS.models)} is shipped or on disk; not drawn")
    if not curves(os.path.join(FLAGS.out, "curves.png")):
        print("curves.png: no curve in the zoo's cards or --runs; not drawn")
    return 0


if __name__ == "__main__":
    app.run(main)
