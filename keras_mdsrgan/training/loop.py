"""Train (or resume) a cohort in a run directory: the stages and the loop.

``run(config, run_dir)`` never reads flags. A run directory holds:
  config.json             the settings used (rewritten at every start)
  checkpoints/            all networks, all optimizer states and the step (last N kept)
  tensorboard/            window means of every loss per pair, learning rates, validation
  generator_K.keras       the final generators (written atomically)
  validation.jsonl        every validation's scores per pair (validation.read_history)
  best/                   each pair's generator at its best validation score (--best_by), and best.json
  results.json / .md      the final evaluation of each pair against bicubic
  samples/                one validation image: bicubic and each pair's SR, side by side
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable

import tensorflow as tf

from keras_mdsrgan import files, interrupts, names
from keras_mdsrgan.config import RunConfig, TrainConfig
from keras_mdsrgan.data import pipelines
from keras_mdsrgan.errors import TrainingError, UserError
from keras_mdsrgan.model import losses
from keras_mdsrgan.quality import ma, metrics
from keras_mdsrgan.training import build, checkpoints, distributed, locks, report
from keras_mdsrgan.training.cohort import MutualSRGAN
from keras_mdsrgan.training.progress import Progress
from keras_mdsrgan.training.validation import BestKeeper, Validator

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One part of the schedule: global steps ``first`` + 1 .. ``end``, each by ``step_fn``."""

    name: str
    first: int
    end: int
    step_fn: Callable
    optimizers: dict  # logged as their learning rates: {"lr/generator": optimizer, ...}
    on_enter: Callable[[], None] | None = None  # when the stage starts at its first step (not on resume)


def stages(cohort: MutualSRGAN, t: TrainConfig) -> list[Stage]:
    """MSE pre-training (of pair 0 only with ``shared_pretrain``), then the GAN stage; empty
    stages left out."""
    pretrained = [0] if t.shared_pretrain else None

    def share_pretrained():  # every pair starts the GAN stage from pair 0's SRResNet
        for g in cohort.generators[1:]:
            g.set_weights(cohort.generators[0].get_weights())

    plan = []
    if t.pretrain_steps:
        plan.append(
            Stage(
                "pre-training (MSE)",
                0,
                t.pretrain_steps,
                lambda batch: cohort.pretrain_step(batch, pretrained),
                {"lr/pretrain": cohort.pretrain_optimizers[0]},
            )
        )
    if t.gan_steps:
        plan.append(
            Stage(
                "GAN",
                t.pretrain_steps,
                t.pretrain_steps + t.gan_steps,
                cohort.train_step,
                {"lr/generator": cohort.gen_optimizers[0], "lr/discriminator": cohort.disc_optimizers[0]},
                on_enter=share_pretrained if t.pretrain_steps and t.shared_pretrain else None,
            )
        )
    return plan


def check_finite(logs: dict[str, float], step: int) -> None:
    """Stop on the first NaN/Inf loss, naming the pair and the term."""
    for name, value in logs.items():
        if not math.isfinite(value):
            pair, _, term = name.partition("/")
            raise TrainingError(
                f"non-finite {term} of {pair} at step {step} ({value}); the last checkpoint is kept as the newest"
            )


def run(config: RunConfig, run_dir: str, restart: bool = False, flagfile: str | None = None) -> dict:
    """Train (or resume) the cohort in ``run_dir``; returns the final evaluation results.

    Under multi-worker training every worker runs this; only the chief writes files (the
    others save their checkpoints to a scratch folder, as MultiWorkerMirroredStrategy needs).
    ``flagfile``: the command line that started the run, saved as ``flags.cfg``.
    """
    ma_model = check_inputs(config)
    strategy = distributed.make_strategy(config.train.strategy)
    chief = distributed.is_chief(strategy)
    if chief:
        locks.hold(run_dir)  # one run per folder; before --restart deletes anything
    try:
        return _train(config, run_dir, restart, flagfile, strategy, chief, ma_model)
    finally:
        if chief:
            locks.release(run_dir)


def _train(
    config: RunConfig,
    run_dir: str,
    restart: bool,
    flagfile: str | None,
    strategy,
    chief: bool,
    ma_model: ma.MaModel | None,
) -> dict:
    d, t = config.data, config.train
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if chief:
        prepare_run_dir(run_dir, config, restart, flagfile)
    if distributed.is_multi_worker(strategy):
        distributed.barrier(strategy)  # nobody restores before the chief has cleared a --restart

    store = pipelines.build_training_store(
        d.train,
        d.scale,
        d.hr_patch,
        skip_bad_files=d.skip_bad_files,
        cache_dir=d.cache_dir,
        tfds_data_dir=d.tfds_data_dir,
        tfds_manual_dir=d.tfds_manual_dir,
    )
    log.info("training on %d images", len(store))
    with strategy.scope():
        cohort = build.build_cohort(config)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")  # host-side counter
    checkpoint = checkpoints.make_checkpoint(cohort, step)
    if checkpoints.restore_latest(checkpoint, ckpt_dir):
        if chief and t.verbosity:
            print(f"resuming after step {int(step)}")
    elif t.init_generator:
        build.copy_generator_weights(t.init_generator, cohort.generators, partial=t.init_partial)
    scratch = None if chief else tempfile.mkdtemp(prefix="mdsrgan-worker-ckpt-")
    manager = tf.train.CheckpointManager(checkpoint, scratch or ckpt_dir, max_to_keep=t.keep_checkpoints)
    if distributed.is_multi_worker(strategy):
        distributed.check_same_step(strategy, step)

    writer = (
        tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
        if chief
        else tf.summary.create_noop_writer()
    )
    # Validation images are decoded now, so a bad one stops the run before training, not after.
    val_sets = load_validation_sets(config) if chief else {}
    validator = (
        Validator(
            next(iter(val_sets.values())), d.scale, cohort.generators, cohort.discriminators, d.hr_patch, ma_model
        )
        if val_sets
        else None
    )
    best = BestKeeper(run_dir, cohort.generators, int(step), t.best_by) if validator else None
    progress = Progress(writer, t.log_every, verbose=bool(chief and t.verbosity))
    started, first = time.time(), int(step)
    xla = distributed.use_xla(t.jit_compile, strategy)
    log.info("XLA-compiled step: %s", "on" if xla else "off")

    with interrupts.deferred() as stop:
        for stage in stages(cohort, t):
            if int(step) >= stage.end:
                continue
            if int(step) == stage.first and stage.on_enter:
                stage.on_enter()
            progress.start(stage, int(step))
            batches = iter(
                strategy.distribute_datasets_from_function(
                    lambda ctx: pipelines.training_dataset(
                        store, d.lr_patch, d.batch_size, seed=d.seed, start_step=int(step), input_context=ctx
                    )
                )
            )
            train_step = distributed.step_function(strategy, stage.step_fn, xla)
            while int(step) < stage.end:
                logs = {k: float(v) for k, v in train_step(batches).items()}
                check_finite(logs, int(step) + 1)
                now = int(step.assign_add(1))
                progress.update(now, logs)
                if validator and (now % t.val_every == 0 or now == stage.end):
                    best.record(now, validator.log(writer, now))
                if now % t.checkpoint_every == 0 or now == stage.end or stop:
                    checkpoints.save(manager, now)
                if stop:
                    writer.flush()
                    raise interrupts.Interrupted(
                        f"interrupted at step {now}; checkpoint saved; run the same command to resume", stop.signum
                    )

    writer.flush()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    if int(step) > first:
        log.info("trained steps %d-%d in %.1f s", first, int(step), time.time() - started)
    if not chief:
        return {}
    report.save_generators(cohort.generators, run_dir)
    return report.final_evaluation(
        cohort.generators,
        d.scale,
        run_dir,
        val_sets,
        ma_model,
        cohort.discriminators,
        d.hr_patch,
        pair_upscalers=validator.upscalers if validator else None,
    )


def check_inputs(config: RunConfig) -> ma.MaModel | None:
    """Fail on bad settings and missing files now, before any data is read; the Ma model if any."""
    config.validate()
    if config.loss.perceptual_weight > 0:
        losses.resolve_vgg19_weights(config.loss.vgg_weights)
    if config.train.init_generator and not os.path.isfile(build.generator_path(config.train.init_generator)):
        raise UserError(f"--init_generator {config.train.init_generator}: no such file")
    return ma.load_model(config.data.ma_model) if config.data.ma_model else None


def prepare_run_dir(run_dir: str, config: RunConfig, restart: bool, flagfile: str | None) -> None:
    """Create the run folder, clear the checkpoints on ``restart``, record the settings."""
    os.makedirs(run_dir, exist_ok=True)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if restart and os.path.isdir(ckpt_dir):
        shutil.rmtree(ckpt_dir)
    files.write_json(os.path.join(run_dir, "config.json"), config.to_dict())
    if flagfile is not None:
        files.write_text(os.path.join(run_dir, "flags.cfg"), flagfile)


def load_validation_sets(config: RunConfig) -> dict[str, list]:
    """Every ``--val`` set by its distinct name, decoded: {name: [(image, lr, hr, grey), ...]}."""
    d = config.data
    return {
        name: list(pipelines.evaluation_images(spec, d.scale, d.val_max_images, check=metrics.require_scorable))
        for name, spec in names.dataset_names(d.val).items()
    }
