"""Wire data, networks, losses and the cohort into a resumable two-stage training run.

``run(config, run_dir)`` never reads flags. A run directory holds:
  config.json             the settings used (rewritten at every start)
  checkpoints/            all networks, all optimizer states and the step (last N kept)
  tensorboard/            scalars per pair
  generator_K.keras       the final generators (written atomically)
  results.json / .md      the final evaluation of each pair against bicubic
  samples/                one validation image: bicubic and each pair's SR, side by side
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_mdsrgan import data, evaluation, imageio, inference, losses, ma
from keras_mdsrgan.cohort import LossWeights, MutualSRGAN
from keras_mdsrgan.config import RunConfig
from keras_mdsrgan.discriminators import build_srgan_discriminator
from keras_mdsrgan.generators import build_srresnet

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """A run that cannot go on (e.g. a non-finite loss); the message says which term."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy over several GPUs, else the default single device.

    ``multi_worker``: MultiWorkerMirroredStrategy configured by the standard TF_CONFIG.
    """
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints, logs and models (always, but for multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def _barrier(strategy: tf.distribute.Strategy) -> None:
    """Wait until every worker gets here (a tiny all-reduce)."""
    strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)


def _check_same_step(strategy: tf.distribute.Strategy, step: tf.Variable) -> None:
    """All workers must resume at the same step (their checkpoint folders might differ)."""
    value = tf.cast(step.read_value(), tf.float64)
    moments = strategy.run(lambda: tf.stack([value, value * value]))
    mean, mean_square = strategy.reduce(tf.distribute.ReduceOp.MEAN, moments, axis=None).numpy()
    if mean_square - mean * mean > 1e-6:
        raise TrainingError(f"workers restored different steps (this one: {int(step)}); "
                            "give every worker the same --run_dir on shared storage")


def build_cohort(config: RunConfig) -> MutualSRGAN:
    """K freshly initialised pairs (seeded) with their optimizers, ready to train."""
    m, l, t, d = config.model, config.loss, config.train, config.data
    keras.utils.set_random_seed(t.seed)
    previous_policy = keras.mixed_precision.global_policy()
    if t.mixed_precision:  # float16 compute, float32 variables; losses are cast to float32
        keras.mixed_precision.set_global_policy("mixed_float16")
    generators = [build_srresnet(d.scale, m.gen_filters, m.gen_blocks, name=f"generator_{k}",
                                 sync_batchnorm=m.sync_batchnorm)
                  for k in range(m.num_pairs)]
    discriminators = [build_srgan_discriminator(d.hr_patch, m.disc_filters, m.disc_dense,
                                                name=f"discriminator_{k}", sync_batchnorm=m.sync_batchnorm)
                      for k in range(m.num_pairs)]
    vgg = (losses.build_vgg_features(l.perceptual_layer, l.vgg_weights)
           if l.perceptual_weight > 0 else None)
    keras.mixed_precision.set_global_policy(previous_policy)
    weights = LossWeights(mode=l.mode, pixel=l.pixel_weight, perceptual=l.perceptual_weight,
                          perceptual_rescale=l.perceptual_rescale, adversarial=l.adversarial_weight,
                          distill=l.distill_weight, temperature=l.temperature)
    cohort = MutualSRGAN(generators, discriminators, weights, vgg)
    cohort.compile(
        gen_optimizers=[_adam(t.gen_lr, t) for _ in generators],
        disc_optimizers=[_adam(t.disc_lr, t) for _ in discriminators],
        pretrain_optimizers=[_adam(t.pretrain_lr, t, decay=False) for _ in generators])
    return cohort


def _adam(lr: float, t, decay: bool = True) -> keras.optimizers.Optimizer:
    """Adam with the step decay of the flags; with dynamic loss scaling under mixed precision."""
    schedule = lr
    if decay and t.lr_decay_steps:
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            [t.lr_decay_steps], [lr, lr * t.lr_decay_factor])
    optimizer = keras.optimizers.Adam(schedule, beta_1=t.adam_beta1)
    return keras.optimizers.LossScaleOptimizer(optimizer) if t.mixed_precision else optimizer


def make_checkpoint(cohort: MutualSRGAN, step: tf.Variable) -> tf.train.Checkpoint:
    """Every network and optimizer by name, plus the global step."""
    objects = {"step": step}
    for k in range(cohort.num_pairs):
        objects[f"generator_{k}"] = cohort.generators[k]
        objects[f"discriminator_{k}"] = cohort.discriminators[k]
        objects[f"gen_optimizer_{k}"] = cohort.gen_optimizers[k]
        objects[f"disc_optimizer_{k}"] = cohort.disc_optimizers[k]
        objects[f"pretrain_optimizer_{k}"] = cohort.pretrain_optimizers[k]
    return tf.train.Checkpoint(**objects)


def distributed_step_function(strategy, step_fn, jit_compile: bool = False):
    """One distributed step: run ``step_fn`` on every replica, mean the logs.

    The loop around ``strategy.run`` (rather than ``Model.fit``) works alike for one device,
    MirroredStrategy and MultiWorkerMirroredStrategy.
    """
    replica_step = tf.function(step_fn, jit_compile=True) if jit_compile else step_fn

    @tf.function
    def distributed_step(iterator):
        per_replica = strategy.run(replica_step, args=(next(iterator),))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in per_replica.items()}

    return distributed_step


def check_finite(logs: dict[str, float], step: int) -> None:
    """Stop on the first NaN/Inf loss, naming the pair and the term."""
    for name, value in logs.items():
        if not math.isfinite(value):
            pair, _, term = name.partition("/")
            raise TrainingError(f"non-finite {term} of {pair} at step {step} ({value}); "
                                "the last checkpoint is kept as the newest")


def _write_json(path: str, payload) -> None:
    imageio.atomic_write(path, lambda tmp: open(tmp, "w").write(json.dumps(payload, indent=1) + "\n"))


def _write_text(path: str, text: str) -> None:
    imageio.atomic_write(path, lambda tmp: open(tmp, "w").write(text))


def _save_model(model: keras.Model, path: str) -> None:
    imageio.atomic_write(path, model.save)


class _Progress:
    """Console progress bar per stage (latest losses) and TensorBoard scalars."""

    SHOWN = ("pretrain_mse", "g_total", "d_total", "d_distill_kl")

    def __init__(self, verbosity: int, writer):
        self.verbosity, self.writer, self.bar = verbosity, writer, None

    def stage(self, name: str, first: int, end: int, start: int) -> None:
        """Start a bar for steps ``first``..``end`` of stage ``name``, resuming at ``start``."""
        if self.verbosity:
            print(f"{name}: steps {first + 1}-{end}")
            self.bar = keras.utils.Progbar(end - first, verbose=1)
            self.bar.update(start - first)
            self.first = first

    def update(self, step: int, logs: dict[str, float], scalars: bool) -> None:
        if self.bar:
            shown = [(k, v) for k, v in logs.items() if k.partition("/")[2] in self.SHOWN]
            self.bar.stateful_metrics.update(k for k, _ in shown)  # show latest, not running means
            self.bar.update(step - self.first, shown, finalize=False)
        if scalars:
            with self.writer.as_default(step=step):
                for name, value in logs.items():
                    tf.summary.scalar(name, value)


class _Validator:
    """Validation PSNR, NIQE (and PI with a Ma model) per pair and an LR | bicubic | SR_k | HR
    image grid, in TensorBoard."""

    def __init__(self, images: list, scale: int, ma_model: ma.MaModel | None = None):
        self.scale = scale
        self.images = images
        self.ma_model = ma_model
        self.bicubic = evaluation.bicubic_upscaler(scale)
        self.upscalers = {}

    def log(self, cohort: MutualSRGAN, writer, step: int) -> None:
        grid = []
        with writer.as_default(step=step):
            for k, g in enumerate(cohort.generators):
                upscale = self.upscalers.setdefault(k, evaluation.generator_upscaler(g))
                outputs = [upscale(lr) for _, lr, _, _ in self.images]
                scores = evaluation.summarize({name: evaluation.score_image(hr, sr, self.scale, grey, self.ma_model)
                                               for (name, _, hr, grey), sr in zip(self.images, outputs)})
                for key in ("psnr", "niqe", "pi"):
                    if scores[key] is not None:  # NIQE / PI: images large enough (PI: a Ma model given)
                        tf.summary.scalar(f"val/pair{k}_{key}", scores[key])
                grid.append(outputs[0])
            _, lr, hr, _ = self.images[0]
            nearest = np.repeat(np.repeat(lr, self.scale, axis=0), self.scale, axis=1)
            grid = [nearest, self.bicubic(lr), *grid, hr]
            tf.summary.image("val/lr_bicubic_sr_hr", np.concatenate(grid, axis=1)[None], max_outputs=1)


def _copy_generator_weights(path: str, generators: list[keras.Model]) -> None:
    """Start every generator from the saved generator at ``path`` (e.g. a shared pre-training)."""
    source = inference.load(path)
    if not isinstance(source, inference.KerasUpscaler):
        raise ValueError(f"--init_generator {path}: needs a .keras generator")
    weights = source.model.get_weights()
    for generator in generators:
        try:
            generator.set_weights(weights)
        except ValueError:
            raise ValueError(f"--init_generator {path}: its architecture differs from this run's "
                             "--gen_filters / --gen_blocks / --scale") from None


def _restore(checkpoint: tf.train.Checkpoint, ckpt_dir: str) -> str | None:
    latest = tf.train.latest_checkpoint(ckpt_dir)
    if latest:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError) as err:
            raise TrainingError(f"{latest} does not fit the current settings "
                                f"({str(err).splitlines()[0][:200]}); pass --restart or another --run_dir") from None
    return latest


def _learning_rates(cohort: MutualSRGAN, pretraining: bool) -> dict[str, float]:
    def current(opt):
        return float(keras.ops.convert_to_numpy(opt.learning_rate))

    if pretraining:
        return {"lr/pretrain": current(cohort.pretrain_optimizers[0])}
    return {"lr/generator": current(cohort.gen_optimizers[0]),
            "lr/discriminator": current(cohort.disc_optimizers[0])}


def run(config: RunConfig, run_dir: str, restart: bool = False, flagfile: str | None = None) -> dict:
    """Train (or resume) the cohort in ``run_dir``; returns the final evaluation results.

    Under multi-worker training every worker runs this; only the chief writes files (the
    others save their checkpoints to a scratch folder, as MultiWorkerMirroredStrategy needs).
    ``flagfile``: the command line that started the run, saved as ``flags.cfg``.
    """
    config.validate()
    d, t = config.data, config.train
    if config.loss.perceptual_weight > 0:
        losses.resolve_vgg19_weights(config.loss.vgg_weights)  # fail now, not after the data
    if t.init_generator and not os.path.isfile(t.init_generator):
        raise ValueError(f"--init_generator {t.init_generator}: no such file")
    ma_model = ma.load_model(d.ma_model) if d.ma_model else None  # a bad file fails now
    strategy = make_strategy(t.strategy)
    chief = is_chief(strategy)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if chief:
        os.makedirs(run_dir, exist_ok=True)
        if restart and os.path.isdir(ckpt_dir):
            shutil.rmtree(ckpt_dir)
        _write_json(os.path.join(run_dir, "config.json"), config.to_dict())
        if flagfile is not None:
            _write_text(os.path.join(run_dir, "flags.cfg"), flagfile)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _barrier(strategy)  # nobody restores before the chief has cleared a --restart

    store = data.build_training_store(d.train, d.scale, d.hr_patch, skip_bad_files=d.skip_bad_files,
                                      cache_dir=d.cache_dir, tfds_data_dir=d.tfds_data_dir,
                                      tfds_manual_dir=d.tfds_manual_dir)
    log.info("training on %d images", len(store))
    with strategy.scope():
        cohort = build_cohort(config)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")  # host-side counter
    checkpoint = make_checkpoint(cohort, step)
    scratch = None if chief else tempfile.mkdtemp(prefix="mdsrgan-worker-ckpt-")
    manager = tf.train.CheckpointManager(checkpoint, scratch or ckpt_dir, max_to_keep=t.keep_checkpoints)
    if _restore(checkpoint, ckpt_dir):
        if chief and t.verbosity:
            print(f"resuming after step {int(step)}")
    elif t.init_generator:
        _copy_generator_weights(t.init_generator, cohort.generators)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _check_same_step(strategy, step)

    total = t.pretrain_steps + t.gan_steps
    writer = (tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard")) if chief
              else tf.summary.create_noop_writer())
    # Validation images are decoded now, so a bad one stops the run before training, not after.
    val_sets = {spec: list(data.evaluation_images(spec, d.scale, d.val_max_images)) for spec in d.val} if chief else {}
    validator = _Validator(val_sets[d.val[0]], d.scale, ma_model) if val_sets else None
    progress = _Progress(t.verbosity if chief else 0, writer)
    started, first = time.time(), int(step)
    pretrained = [0] if t.shared_pretrain else None  # shared: only pair 0 is pre-trained

    def pretrain_step(batch):
        return cohort.pretrain_step(batch, pairs=pretrained)

    for stage, begin, end, step_fn in (("pre-training (MSE)", 0, t.pretrain_steps, pretrain_step),
                                       ("GAN", t.pretrain_steps, total, cohort.train_step)):
        if int(step) >= end:
            continue
        progress.stage(stage, begin, end, int(step))
        if begin == t.pretrain_steps == int(step) > 0 and t.shared_pretrain:
            for g in cohort.generators[1:]:  # every pair starts from pair 0's SRResNet
                g.set_weights(cohort.generators[0].get_weights())
        dataset = strategy.distribute_datasets_from_function(
            lambda ctx: data.training_dataset(store, d.lr_patch, d.batch_size, seed=d.seed,
                                              start_step=int(step), input_context=ctx))
        iterator = iter(dataset)
        distributed_step = distributed_step_function(strategy, step_fn, t.jit_compile)
        while int(step) < end:
            logs = {k: float(v) for k, v in distributed_step(iterator).items()}
            check_finite(logs, int(step) + 1)
            step.assign_add(1)
            now = int(step)
            scalars = now % t.log_every == 0 or now == end
            progress.update(now, {**logs, **(_learning_rates(cohort, begin == 0) if scalars else {})}, scalars)
            if validator and (now % t.val_every == 0 or now == end):
                validator.log(cohort, writer, now)
            if now % t.checkpoint_every == 0 or now == end:
                manager.save(checkpoint_number=now)
    writer.flush()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    if int(step) > first:
        log.info("trained steps %d-%d in %.1f s", first, int(step), time.time() - started)
    return finish(cohort, config, run_dir, val_sets, ma_model) if chief else {}


def finish(cohort: MutualSRGAN, config: RunConfig, run_dir: str, val_sets: dict[str, list],
           ma_model: ma.MaModel | None = None) -> dict:
    """Save each generator, evaluate every pair against bicubic (PI with ``ma_model``) and save
    one sample image."""
    d = config.data
    for k, g in enumerate(cohort.generators):
        _save_model(g, os.path.join(run_dir, f"generator_{k}.keras"))
    upscalers = {"bicubic": evaluation.bicubic_upscaler(d.scale)}
    upscalers.update({f"pair{k}": evaluation.generator_upscaler(g)
                      for k, g in enumerate(cohort.generators)})
    results, sample = {}, {}

    def keep_first(image_name, model, sr):
        if not sample or sample["name"] == image_name:
            sample["name"] = image_name
            sample[model] = sr

    for spec, images in val_sets.items():
        scores = evaluation.evaluate(upscalers, images, d.scale, on_image=keep_first, ma_model=ma_model)
        results[_dataset_name(spec)] = scores
    _write_json(os.path.join(run_dir, "results.json"),
                {"scale": d.scale, "results": results, "pi_note": evaluation.pi_note(ma_model)})
    table = evaluation.markdown_table(results)
    _write_text(os.path.join(run_dir, "results.md"), table + "\n")
    if sample:
        sample["hr"] = val_sets[d.val[0]][0][2]
        _save_sample(sample, os.path.join(run_dir, "samples"))
    return results


def _dataset_name(spec: str) -> str:
    if spec.startswith("sample:"):
        return spec.replace(":", "_")
    return os.path.basename(os.path.normpath(spec.partition(":")[0])) or spec


def _save_sample(sample: dict, folder: str) -> None:
    """Each model's SR of the first validation image, and all of them side by side with HR."""
    name = sample.pop("name")
    for model, image in sample.items():
        if model != "hr":
            imageio.write_image(os.path.join(folder, f"{name}_{model}.png"), image)
    imageio.write_image(os.path.join(folder, f"{name}_side_by_side.png"),
                        np.concatenate(list(sample.values()), axis=1))
