"""The paper's table from several runs: rows = datasets, columns = methods, PSNR then PI/NIQE.

  python -m keras_mdsrgan.compare RUN_A RUN_B RUN_C --labels=Independent,ML,ML*

Each positional argument is one method: a results.json, or a folder holding one (a run
directory or an evaluate --out folder); join several seeds of a method with commas
(``runs/ind_s0,runs/ind_s1``). Every trained pair (models named pairK, or any non-bicubic
model) of every seed is one sample; cells show mean ± std over the samples.
"""

from __future__ import annotations

import json
import os
import statistics

from absl import app, flags

from keras_mdsrgan import cli
from keras_mdsrgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_list("labels", None, "Column names, one per method (default: the arguments).")


class CompareError(UserError, ValueError):
    """Unusable input; the message names the file."""


def load_results(path: str) -> dict:
    """The results.json at ``path`` (a file or a folder holding one)."""
    file = os.path.join(path, "results.json") if os.path.isdir(path) else path
    try:
        with open(file) as f:
            payload = json.load(f)
        return payload["results"]
    except FileNotFoundError:
        raise CompareError(f"{file}: no results.json (run evaluate first)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CompareError(f"{file}: not a results.json ({err})") from None


def samples(results_list: list[dict], dataset: str, metric: str) -> list[float]:
    """One value per trained model per seed: all models but bicubic."""
    values = []
    for results in results_list:
        for model, scores in results.get(dataset, {}).items():
            if model != "bicubic" and scores.get(metric) is not None:
                values.append(float(scores[metric]))
    return values


def cell(values: list[float], digits: int = 3) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def paper_table(methods: dict[str, list[dict]]) -> str:
    """Markdown: a PSNR block, then PI (NIQE where PI is unavailable), as in the paper."""
    datasets = list(dict.fromkeys(d for runs in methods.values() for r in runs for d in r))
    has_pi = any(samples(runs, d, "pi") for runs in methods.values() for d in datasets)
    blocks = [("PSNR (dB)", "psnr"), ("PI" if has_pi else "NIQE (PI unavailable)", "pi" if has_pi else "niqe")]
    lines = ["| metric | dataset | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for title, metric in blocks:
        for dataset in datasets:
            cells = [cell(samples(runs, dataset, metric)) for runs in methods.values()]
            lines.append(f"| {title} | {dataset} | " + " | ".join(cells) + " |")
    if not datasets:
        raise CompareError("the results files hold no datasets")
    counts = ", ".join(f"{label}: {len(samples(runs, datasets[0], 'psnr'))}" for label, runs in methods.items())
    return "\n".join(lines) + f"\n\nsamples per cell (models × seeds) on {datasets[0]}: {counts}"


def main(argv: list[str]) -> int:
    runs = argv[1:]
    if not runs:
        raise app.UsageError("give one argument per method: RESULTS[,RESULTS...]")
    labels = FLAGS.labels or runs
    if len(labels) != len(runs):
        raise app.UsageError(f"--labels has {len(labels)} names for {len(runs)} methods")
    try:
        methods = {label: [load_results(p) for p in arg.split(",")] for label, arg in zip(labels, runs)}
        print(paper_table(methods))
    except UserError as err:
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)
