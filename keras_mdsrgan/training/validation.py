"""Validation during training: scores per pair and an image grid, in TensorBoard."""

from __future__ import annotations

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_mdsrgan import files, names
from keras_mdsrgan.quality import evaluation, ma, probe
from keras_mdsrgan.training import distributed

# One line per validation: {"step": N, "pair0": {"psnr": ..}, .., "from_step", "wall_s", "machine"}.
HISTORY = "validation.jsonl"
BEST = "best"  # best/generator_K.keras: pair K at its best validation score; best/best.json says when
LOWER_IS_BETTER = ("niqe", "pi")


class Validator:
    """PSNR, NIQE (and PI with a Ma model) of every pair on held-out images, the discriminators'
    scores on a probe cut from them (``probe.py``), and an LR | bicubic | SR_0 .. SR_K-1 | HR grid
    of the first image."""

    def __init__(
        self,
        images: list,
        scale: int,
        generators: list,
        discriminators: list = (),
        hr_patch: int | None = None,
        ma_model: ma.MaModel | None = None,
    ):
        self.images, self.scale, self.ma_model = images, scale, ma_model
        self.generators, self.discriminators = generators, list(discriminators)
        self.bicubic = evaluation.bicubic_upscaler(scale)
        self.upscalers = [evaluation.generator_upscaler(g) for g in generators]  # traced once, reused
        self.probe = probe.make_probe(images, scale, hr_patch) if self.discriminators else None

    def log(self, writer, step: int) -> dict[str, dict]:
        """Score every pair, write it all to TensorBoard; the mean scores, ``{pairK: {psnr: ..}}``."""
        grid, per_pair = [], {}
        with writer.as_default(step=step):
            for k, upscale in enumerate(self.upscalers):
                outputs = [upscale(lr) for _, lr, _, _ in self.images]
                scores = evaluation.summarize(
                    {
                        name: evaluation.score_image(hr, sr, self.scale, grey, self.ma_model)
                        for (name, _, hr, grey), sr in zip(self.images, outputs)
                    }
                )
                per_pair[names.pair_name(k)] = {key: scores[key] for key in ("psnr", "ssim", "niqe", "pi")}
                for key, value in per_pair[names.pair_name(k)].items():
                    if value is not None:  # NIQE / PI: images large enough (PI: a Ma model given)
                        tf.summary.scalar(f"val/{names.pair_name(k)}_{key}", value)
                grid.append(outputs[0])
            if self.probe:
                self._log_discriminators()
            _, lr, hr, _ = self.images[0]
            nearest = np.repeat(np.repeat(lr, self.scale, axis=0), self.scale, axis=1)
            grid = [nearest, self.bicubic(lr), *grid, hr]
            tf.summary.image("val/lr_bicubic_sr_hr", np.concatenate(grid, axis=1)[None], max_outputs=1)
        return per_pair

    def _log_discriminators(self) -> None:
        """val/pairK_d_{acc,auc,nll,ece,brier} on the whole probe and val/pairK_d_auc_{kind}, in
        batch mode (as in training); val/pairK_d_inference_{acc,...} with the moving statistics."""
        scores = probe.discriminator_scores(self.generators, self.discriminators, self.probe)
        for pair, per_kind in scores["batch"].items():
            for metric, value in per_kind["all"].items():
                tf.summary.scalar(f"val/{pair}_d_{metric}", value)
            for kind, values in per_kind.items():
                if kind != "all":
                    tf.summary.scalar(f"val/{pair}_d_auc_{kind}", values["auc"])
        for pair, per_kind in scores["inference"].items():
            for metric, value in per_kind["all"].items():
                tf.summary.scalar(f"val/{pair}_d_inference_{metric}", value)


def read_history(run_dir: str) -> list[dict]:
    """The run's validation records by step; a step validated twice (a resumed run replays the
    steps after its last checkpoint) keeps its newest record."""
    path = os.path.join(run_dir, HISTORY)
    if not os.path.exists(path):
        return []
    records = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
            records[record["step"]] = record
    return [records[step] for step in sorted(records)]


def training_seconds(history: list[dict]) -> float | None:
    """Wall seconds the run took to its last record, across resumes: each process's seconds per
    step (its last record) times the steps it ran until the next process took over (a resumed
    process replays from its checkpoint). None if a record lacks its cost (older runs)."""
    if not history or any("wall_s" not in r for r in history):
        return None
    last_of = {}  # from_step -> the last record of the process that began there
    for record in history:
        last_of[record["from_step"]] = record
    starts = sorted(last_of)
    total = 0.0
    for start, end in zip(starts, [*starts[1:], None]):
        record = last_of[start]
        ran = record["step"] - start
        total += record["wall_s"] / ran * ((end if end is not None else record["step"]) - start)
    return total


class BestKeeper:
    """Appends each validation to ``validation.jsonl`` and keeps each pair's generator at its best
    validation score (``by``: PSNR, or NIQE / PI for GAN stages) as ``best/generator_K.keras``
    (written atomically; survives resumes), so a run ships its best checkpoint as chosen on
    held-out images, not its last."""

    def __init__(self, run_dir: str, generators: list[keras.Model], first_step: int = 0, by: str = "psnr"):
        self.run_dir, self.generators, self.by = run_dir, generators, by
        # What the record's training cost: wall seconds since this process began at from_step, where.
        self.first_step, self.started, self.machine = first_step, time.time(), distributed.describe_machine()
        path = os.path.join(run_dir, BEST, "best.json")
        self.best = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.best = json.load(f)

    def _better(self, value: float | None, pair: str) -> bool:
        if value is None:
            return False
        best = self.best.get(pair, {}).get(self.by)
        if best is None:
            return True
        return value < best if self.by in LOWER_IS_BETTER else value > best

    def record(self, step: int, scores: dict[str, dict]) -> None:
        cost = {"from_step": self.first_step, "wall_s": round(time.time() - self.started, 1), "machine": self.machine}
        line = json.dumps(files.finite_or_null({"step": step, **scores, **cost}), allow_nan=False) + "\n"
        with open(os.path.join(self.run_dir, HISTORY), "a", encoding="utf-8") as f:
            f.write(line)
        improved = False
        for k, generator in enumerate(self.generators):
            pair = names.pair_name(k)
            if self._better(files.finite_or_null(scores[pair]).get(self.by), pair):
                files.atomic_write(os.path.join(self.run_dir, BEST, names.generator_file(k)), generator.save)
                self.best[pair] = {"step": step, **scores[pair], "by": self.by}
                improved = True
        if improved:
            files.write_json(os.path.join(self.run_dir, BEST, "best.json"), self.best)
