"""How pairs, models and datasets are named in logs, results and tables: one place for each."""

from __future__ import annotations

import os
import re

_PAIR = re.compile(r"pair(\d+)")
_GENERATOR_FILE = re.compile(r"generator_(\d+)\.keras")


def pair_name(k: int) -> str:
    """``pair0``, ``pair1``, ...: the name of pair k in logs, results.json and tables."""
    return f"pair{k}"


def pair_index(name: str) -> int | None:
    """k for ``pairK`` (or a ``pairK/term`` / ``pairK_metric`` log key), else None."""
    match = _PAIR.match(name)
    return int(match.group(1)) if match else None


def generator_file(k: int) -> str:
    """``generator_K.keras``: the file a run saves pair k's generator to."""
    return f"generator_{k}.keras"


def generator_files(run_dir: str) -> dict[str, str]:
    """``{pairK: path}`` for the generator files in ``run_dir``, in pair order."""
    found = {
        int(m.group(1)): os.path.join(run_dir, name)
        for name in (os.listdir(run_dir) if os.path.isdir(run_dir) else [])
        if (m := _GENERATOR_FILE.fullmatch(name))
    }
    return {pair_name(k): found[k] for k in sorted(found)}


def unique_labels(paths: list[str]) -> list[str]:
    """Short distinct labels for ``paths``: the stem, with as many parent folders as it takes.

    ``runA/generator_0.keras, runB/generator_0.keras`` -> ``runA/generator_0, runB/generator_0``;
    ``export/saved_model/mdsrgan/1`` -> ``mdsrgan/1`` when another path also ends in ``1``.
    Identical paths (the same thing named twice) are refused by the caller, not here.
    """
    parts = [_path_parts(p) for p in paths]
    depth = [1] * len(paths)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clashes = {label for label in labels if labels.count(label) > 1}
        grown = False
        for i, label in enumerate(labels):
            if label in clashes and depth[i] < len(parts[i]):
                depth[i] += 1
                grown = True
        if not grown:
            return labels


def _path_parts(path: str) -> list[str]:
    parts = [p for p in os.path.abspath(os.path.normpath(path)).split(os.sep) if p]
    if parts and os.path.splitext(parts[-1])[1] and not os.path.isdir(path):
        parts[-1] = os.path.splitext(parts[-1])[0]
    return parts or [path]


def dataset_names(specs) -> dict[str, str]:
    """Name -> spec for dataset specs given as ``NAME=SPEC`` or plain ``SPEC``.

    A plain folder spec (``HR_DIR`` or ``HR_DIR:LR_DIR``) is named by ``unique_labels`` of its
    HR folder, ``sample:val`` as ``sample_val``. Two specs with the same name are refused, so
    every set is reported under its own name.
    """
    from keras_mdsrgan.errors import ConfigError

    entries = []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        entries.append((name, rest) if sep and name and rest else (None, spec))
    folders = [spec.partition(":")[0] for name, spec in entries if name is None and not spec.startswith("sample:")]
    labels = iter(unique_labels(folders))
    result = {}
    for name, spec in entries:
        if name is None:
            name = spec.replace(":", "_") if spec.startswith("sample:") else next(labels)
        if name in result:
            raise ConfigError(
                f"two datasets are both named {name!r} ({result[name]} and {spec}); name them as NAME=SPEC"
            )
        result[name] = spec
    return result
