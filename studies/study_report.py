"""docs/RESULTS.md, docs/repro/results.json and the plots of the reproduction study, from finished runs."""

from __future__ import annotations

import glob
import json
import os
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy import stats  # noqa: E402

from keras_mdsrgan import compare, files  # noqa: E402
from keras_mdsrgan.data import imageio, resize  # noqa: E402
from keras_mdsrgan.model import inference  # noqa: E402
from keras_mdsrgan.quality import metrics  # noqa: E402

LABELS = {"independent": "Independent", "ml": "ML", "ml_star": "ML*"}
# Lee & Park (2022), as quoted in the project brief: x4 Set5 only (Independent, ML, ML*).
PAPER = {4: {"Set5": {"psnr": (26.960, 27.469, 27.119), "pi": (3.124, 3.194, 3.111)}}}
CROP_IMAGE = ("Set14", "img_014")  # zebra: stripes and fur, the textures a discriminator shapes


def _json(path: str):
    with open(path) as f:
        return json.load(f)


def collect(out: str, scales: list[int], seeds: list[int], modes: tuple[str, ...]) -> dict:
    """Every finished evaluation and wall time on disk, by scale, mode and seed."""
    collected = {}
    for scale in scales:
        base = os.path.join(out, f"x{scale}")
        entry = {
            "bicubic": _json(f"{base}/bicubic/results.json")["results"],
            "pretrained": _json(f"{base}/pretrain_eval/results.json")["results"],
            "runs": {m: {} for m in modes},
            "seconds": {},
            "commands": [],
        }
        timings = [
            f"{base}/pretrain/train_time.json",
            f"{base}/bicubic/eval_time.json",
            f"{base}/pretrain_eval/eval_time.json",
        ]
        entry["seconds"]["pretrain"] = _json(timings[0])["seconds"]
        for seed in seeds:
            for mode in modes:
                run = f"{base}/{mode}_seed{seed}"
                if os.path.exists(f"{run}/eval/results.json"):
                    entry["runs"][mode][str(seed)] = _json(f"{run}/eval/results.json")["results"]
                    entry["seconds"][f"{mode}_seed{seed}"] = (
                        _json(f"{run}/train_time.json")["seconds"] + _json(f"{run}/eval/eval_time.json")["seconds"]
                    )
                    timings += [f"{run}/train_time.json", f"{run}/eval/eval_time.json"]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
        entry["commands"] = ["python " + _json(t)["command"].replace(root, "") for t in timings]
        collected[scale] = entry
    return collected


def _without_per_image(results: dict) -> dict:
    return {
        d: {m: {k: v for k, v in s.items() if k != "per_image"} for m, s in per.items()} for d, per in results.items()
    }


def _seed_mean(results: dict, dataset: str, metric: str) -> float:
    values = compare.samples([results], dataset, metric)
    return statistics.mean(values)


def paired_rows(entry: dict, seeds: list[int], dataset: str, metric: str, mode: str) -> str:
    """One Markdown row: mode − independent per seed (mean over pairs) and a paired t-test."""
    diffs = [
        _seed_mean(entry["runs"][mode][str(s)], dataset, metric)
        - _seed_mean(entry["runs"]["independent"][str(s)], dataset, metric)
        for s in seeds
    ]
    if len(diffs) > 1 and statistics.stdev(diffs) > 0:
        test = stats.ttest_rel(
            [_seed_mean(entry["runs"][mode][str(s)], dataset, metric) for s in seeds],
            [_seed_mean(entry["runs"]["independent"][str(s)], dataset, metric) for s in seeds],
        )
        t, p = f"{test.statistic:.2f}", f"{test.pvalue:.3f}"
    else:
        t, p = "-", "-"
    per_seed = ", ".join(f"{d:+.3f}" for d in diffs)
    return (
        f"| {LABELS[mode]} − Independent | {dataset} | {metric.upper()} | {per_seed} "
        f"| {statistics.mean(diffs):+.3f} | {t} | {p} |"
    )


def results_table(scale: int, entry: dict, modes: tuple[str, ...]) -> str:
    """Paper layout: PSNR block then NIQE (or PI), mean ± std over seeds × pairs; paper beside."""
    methods = {LABELS[m]: list(entry["runs"][m].values()) for m in modes}
    has_pi = any(compare.samples(r, "Set5", "pi") for r in methods.values())
    second = "pi" if has_pi else "niqe"
    paper = PAPER.get(scale, {})
    head = [
        "| metric | dataset | bicubic | SRResNet (start) | "
        + " | ".join(f"{m} (ours)" for m in methods)
        + " | "
        + " | ".join(f"{m} (paper)" for m in methods)
        + " |",
        "|---|---|---|---|" + "---|" * (2 * len(methods)),
    ]
    for title, metric in (("PSNR (dB)", "psnr"), ("PI" if has_pi else "NIQE", second)):
        for dataset in ("Set5", "Set14"):
            ours = [compare.cell(compare.samples(runs, dataset, metric)) for runs in methods.values()]
            bicubic = entry["bicubic"][dataset]["bicubic"][metric]
            start = entry["pretrained"][dataset]["pair0"][metric]
            published = paper.get(dataset, {}).get("pi" if metric == "niqe" else metric)
            theirs = (
                [f"{v:.3f}" + (" (PI)" if metric == "niqe" else "") for v in published]
                if published
                else ["-"] * len(methods)
            )
            head.append(
                f"| {title} | {dataset} | {bicubic:.3f} | {start:.3f} | "
                + " | ".join(ours)
                + " | "
                + " | ".join(theirs)
                + " |"
            )
    return "\n".join(head)


def _scalars(run_dir: str) -> dict[str, dict[int, float]]:
    """Validation PSNR / NIQE of a run from TensorBoard: tag -> {step: value} (the last write of a step wins)."""
    series: dict[str, dict[int, float]] = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "tensorboard", "events.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("val/") and value.tag.endswith(("_psnr", "_niqe")):
                    series.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
    return series


def plot_validation(out: str, scale: int, seeds: list[int], modes: tuple[str, ...], path: str) -> None:
    """Validation PSNR and NIQE (Set5) over GAN steps: mean over seeds × pairs, band = min..max."""
    base = os.path.join(out, f"x{scale}")
    start = _scalars(os.path.join(base, "pretrain"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("psnr", "niqe")):
        initial = start.get(f"val/pair0_{metric}", {})
        for mode in modes:
            curves = []
            for seed in seeds:
                series = _scalars(os.path.join(base, f"{mode}_seed{seed}"))
                for tag, values in series.items():
                    if tag.endswith(f"_{metric}"):
                        curves.append({0: initial[max(initial)], **values} if initial else values)
            if not curves:
                continue
            steps = sorted(set.intersection(*(set(c) for c in curves)))
            matrix = np.array([[c[s] for s in steps] for c in curves])
            (line,) = ax.plot(steps, matrix.mean(axis=0), marker="o", ms=3, label=LABELS[mode])
            ax.fill_between(steps, matrix.min(axis=0), matrix.max(axis=0), color=line.get_color(), alpha=0.15)
        ax.set_xlabel("GAN step")
        ax.set_ylabel("Set5 PSNR (dB, Y)" if metric == "psnr" else "Set5 NIQE (lower is better)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"x{scale}: validation over the GAN stage (mean over {len(seeds)} seeds × 2 pairs, band = range)")
    fig.tight_layout()
    files.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def _texture_window(y: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` window with the most HR detail (largest Y variance)."""
    best, corner = -1.0, (0, 0)
    for r in range(0, y.shape[0] - size + 1, size // 4):
        for c in range(0, y.shape[1] - size + 1, size // 4):
            v = float(y[r : r + size, c : c + size].var())
            if v > best:
                best, corner = v, (r, c)
    return corner


def plot_crops(out: str, scale: int, seed: int, modes: tuple[str, ...], shared: str, path: str) -> None:
    """Bicubic / each mode (seed ``seed``, pair 0) / HR on one textured crop, like the paper's Figure 3."""
    dataset, name = CROP_IMAGE
    hr = imageio.read_image(os.path.join(shared, "benchmark", dataset, f"x{scale}", "HR", f"{name}.png"))
    lr = imageio.read_image(os.path.join(shared, "benchmark", dataset, f"x{scale}", "LR", f"{name}.png"))
    panels = {"Bicubic": resize.imresize(lr, float(scale)).numpy()}
    for mode in modes:
        model = inference.load(os.path.join(out, f"x{scale}", f"{mode}_seed{seed}", "generator_0.keras"))
        panels[LABELS[mode]] = inference.upscale(model, lr)
    panels["HR"] = hr
    size = 128 if scale == 4 else 96
    r, c = _texture_window(metrics.rgb_to_y(hr), size)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.4 * len(panels), 2.9))
    for ax, (title, image) in zip(axes, panels.items()):
        ax.imshow(image[r : r + size, c : c + size], interpolation="nearest")
        if title != "HR":
            title += f"\n{metrics.psnr(hr, image, border=scale):.2f} dB"
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{dataset} {name} x{scale}, crop at ({r}, {c}); PSNR of the whole image", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    files.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


BEGIN, END = "<!-- generated by studies/reproduce.py: begin -->", "<!-- generated by studies/reproduce.py: end -->"


def _replace_generated(path: str, generated: str) -> None:
    """Put ``generated`` between the markers of ``path``, keeping the hand-written text around it."""
    text = open(path).read() if os.path.exists(path) else f"# Reproduction study\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path}: the markers {BEGIN!r} / {END!r} are missing")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    files.write_text(path, f"{head}{BEGIN}\n{generated}\n{END}{tail}")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def write(out: str, docs: str, scales: list[int], seeds: list[int], modes: tuple[str, ...], shared: str) -> None:
    """Collect, plot and write RESULTS.md (only scales whose runs all finished)."""
    collected = collect(out, scales, seeds, modes)
    finished = [s for s in scales if all(len(collected[s]["runs"][m]) == len(seeds) for m in modes)]
    repro = os.path.join(docs, "repro")
    os.makedirs(repro, exist_ok=True)
    payload = {
        str(s): {
            "bicubic": _without_per_image(e["bicubic"]),
            "pretrained": _without_per_image(e["pretrained"]),
            "runs": {m: {seed: _without_per_image(r) for seed, r in runs.items()} for m, runs in e["runs"].items()},
            "seconds": e["seconds"],
            "commands": e["commands"],
        }
        for s, e in collected.items()
    }
    files.write_json(os.path.join(repro, "results.json"), payload)
    sections = []
    for scale in finished:
        entry = collected[scale]
        plot_validation(out, scale, seeds, modes, os.path.join(repro, f"validation_x{scale}.png"))
        plot_crops(out, scale, seeds[0], modes, shared, os.path.join(repro, f"crop_x{scale}.png"))
        paired = [
            "| comparison | dataset | metric | per seed | mean | t | p (two-sided) |",
            "|---|---|---|---|---|---|---|",
        ]
        for mode in modes[1:]:
            for metric in ("psnr", "niqe"):
                for dataset in ("Set5", "Set14"):
                    paired.append(paired_rows(entry, seeds, dataset, metric, mode))
        runs = [v for k, v in entry["seconds"].items() if k != "pretrain"]
        sections.append(
            "\n\n".join(
                [
                    f"### x{scale}",
                    results_table(scale, entry, modes),
                    f"Paired differences (same seed = same discriminator initialisation and batches; each value is the "
                    f"mean over the 2 pairs of a run), paired t-test over the {len(seeds)} seeds:",
                    "\n".join(paired),
                    f"![validation x{scale}](repro/validation_x{scale}.png)\n\n"
                    f"![crops x{scale}](repro/crop_x{scale}.png)",
                    f"Wall time: shared pre-training {_minutes(entry['seconds']['pretrain'])}; {len(runs)} GAN runs "
                    f"(train + evaluate) {_minutes(sum(runs))} in total, "
                    f"{_minutes(statistics.mean(runs))} each on average.",
                    "<details><summary>Every command of this scale, in the order run</summary>\n\n```\n"
                    + "\n".join(entry["commands"])
                    + "\n```\n</details>",
                ]
            )
        )
    generated = "\n\n".join(sections) or "(no scale has finished yet)"
    _replace_generated(os.path.join(docs, "RESULTS.md"), generated)
    print(f"wrote {docs}/RESULTS.md and {repro}/ ({', '.join(f'x{s}' for s in finished) or 'nothing finished'})")
