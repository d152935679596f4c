import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
from keras_mdsrgan.training import build, distributed


def test_mixed_precision_cohort_trains_with_loss_scaling():
    config = RunConfig(
        data=DataConfig(scale=2, hr_patch=16, batch_size=2),
        model=ModelConfig(gen_filters=4, gen_blocks=1, disc_filters=4, disc_dense=8),
        loss=LossConfig(
            mode="ml", pixel_weight=1.0, perceptual_weight=1.0, perceptual_layer="block1_conv2", vgg_weights="random"
        ),
        train=TrainConfig(mixed_precision=True),
    )
    cohort = build.build_cohort(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert cohort.generators[0].get_layer("head_conv").compute_dtype == "float16"
    assert all(
        isinstance(o, keras.optimizers.LossScaleOptimizer)
        for o in cohort.gen_optimizers + cohort.disc_optimizers + cohort.pretrain_optimizers
    )
    lr, hr = tf.random.uniform([2, 8, 8, 3], seed=1), tf.random.uniform([2, 16, 16, 3], seed=2)
    before = cohort.generators[1].get_weights()
    logs = cohort.train_step((lr, hr))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, cohort.generators[1].get_weights()))


def test_each_stage_decays_its_learning_rate_after_its_own_steps():
    """--pretrain_lr_decay_steps counts pre-training steps, --lr_decay_steps GAN steps."""
    config = RunConfig(
        data=DataConfig(scale=2, hr_patch=16, batch_size=2),
        model=ModelConfig(gen_filters=4, gen_blocks=1, disc_filters=4, disc_dense=8),
        loss=LossConfig(perceptual_weight=0.0),
        train=TrainConfig(
            pretrain_steps=10,
            pretrain_lr=1e-3,
            pretrain_lr_decay_steps=5,
            gen_lr=2e-4,
            disc_lr=3e-4,
            lr_decay_steps=8,
            lr_decay_factor=0.1,
        ),
    )
    cohort = build.build_cohort(config)

    def rates(iterations):
        for optimizer in (cohort.pretrain_optimizers[0], cohort.gen_optimizers[0], cohort.disc_optimizers[0]):
            optimizer.iterations.assign(iterations)
        return [
            float(o.learning_rate)
            for o in (cohort.pretrain_optimizers[0], cohort.gen_optimizers[0], cohort.disc_optimizers[0])
        ]

    assert rates(0) == pytest.approx([1e-3, 2e-4, 3e-4])
    assert rates(6) == pytest.approx([1e-4, 2e-4, 3e-4])
    assert rates(9) == pytest.approx([1e-4, 2e-5, 3e-5])


def test_chief_detection_without_a_cluster():
    assert distributed.is_chief(tf.distribute.get_strategy())


TINY = RunConfig(
    data=DataConfig(scale=2, hr_patch=16, batch_size=2, val_max_images=1),
    model=ModelConfig(gen_filters=4, gen_blocks=1, disc_filters=4, disc_dense=8),
    loss=LossConfig(pixel_weight=1.0, perceptual_weight=0.0),
    train=TrainConfig(
        pretrain_steps=0, gan_steps=4, log_every=2, checkpoint_every=4, val_every=4, verbosity=0, jit_compile=False
    ),
)


def scalars(folder) -> dict[str, dict[int, float]]:
    """TensorBoard scalars written under ``folder``: {tag: {step: value}}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    tensors = {
        tag: {e.step: tf.make_ndarray(e.tensor_proto) for e in events.Tensors(tag)} for tag in events.Tags()["tensors"]
    }
    return {
        tag: {step: float(v) for step, v in values.items()}
        for tag, values in tensors.items()
        if all(v.ndim == 0 for v in values.values())
    }


def test_gan_only_run_logs_its_own_learning_rates_and_reports_every_validation_set(tmp_path, monkeypatch):
    """--pretrain_steps=0 logs the generator's and discriminator's rates (not the unused
    pre-training one), and two validation folders both called HR are both reported."""
    import dataclasses
    import json

    from keras_mdsrgan.data import imageio, pipelines
    from keras_mdsrgan.quality import evaluation
    from keras_mdsrgan.training import loop

    made = []  # the final evaluation runs the validator's traced upscalers, not new ones
    real = evaluation.generator_upscaler
    monkeypatch.setattr(evaluation, "generator_upscaler", lambda g: made.append(g) or real(g))

    chelsea = imageio.read_image(pipelines.resolve_pairs("sample:val")[0].hr_path)[:201, :241]  # odd: cropped
    for run, image in (("a", chelsea), ("b", chelsea[:160, :200])):  # one name, two sizes (as Set5 and Set14)
        (tmp_path / run / "HR").mkdir(parents=True)
        imageio.write_image(str(tmp_path / run / "HR" / "chelsea.png"), image)
    config = dataclasses.replace(
        TINY, data=dataclasses.replace(TINY.data, val=(str(tmp_path / "a" / "HR"), str(tmp_path / "b" / "HR")))
    )
    results = loop.run(config, str(tmp_path / "run"))
    assert set(results) == {"a/HR", "b/HR"} and len(made) == TINY.model.num_pairs
    # The sample is the first set's image: bicubic | pair 0 | pair 1 | HR of set a's chelsea.
    side_by_side = imageio.read_image(str(tmp_path / "run" / "samples" / "chelsea_side_by_side.png"))
    height, width = (n - n % 2 for n in chelsea.shape[:2])  # cropped to a multiple of the scale
    assert side_by_side.shape[:2] == (height, 4 * width)
    saved = json.loads((tmp_path / "run" / "results.json").read_text())["results"]
    assert set(saved) == {"a/HR", "b/HR"} and saved["a/HR"]["pair0"]["n_images"] == 1
    logged = scalars(tmp_path / "run" / "tensorboard")
    assert set(logged["lr/generator"]) == {2, 4} and set(logged["lr/discriminator"]) == {2, 4}
    assert "lr/pretrain" not in logged
    assert logged["lr/generator"][4] == pytest.approx(TINY.train.gen_lr)
    # The discriminators are scored on a probe of the validation images, logged and saved.
    assert set(logged["val/pair1_d_auc"]) == {4} and 0 <= logged["val/pair1_d_ece"][4] <= 1
    assert {"val/pair0_d_auc_own", "val/pair0_d_auc_peers", "val/pair0_d_auc_bicubic"} <= set(logged)
    probes = json.loads((tmp_path / "run" / "results.json").read_text())["discriminators"]
    assert set(probes) == {"a/HR", "b/HR"} and set(probes["a/HR"]) == {"pair0", "pair1"}
    assert set(probes["a/HR"]["pair0"]) == {"all", "own", "peers", "bicubic"}
    assert set(probes["a/HR"]["pair0"]["all"]) == {"acc", "auc", "nll", "ece", "brier"}
    inference = json.loads((tmp_path / "run" / "results.json").read_text())["discriminators_inference"]
    assert set(inference["a/HR"]["pair0"]) == {"all", "own", "peers", "bicubic"}
    assert set(logged["val/pair1_d_inference_nll"]) == {4}


def test_progress_writes_window_means_with_learning_rates(tmp_path):
    from keras_mdsrgan.training.loop import Stage
    from keras_mdsrgan.training.progress import Progress

    writer = tf.summary.create_file_writer(str(tmp_path))
    optimizer = keras.optimizers.Adam(0.25)
    progress = Progress(writer, log_every=2, verbose=False)
    progress.start(Stage("GAN", 0, 5, step_fn=None, optimizers={"lr/generator": optimizer}), 0)
    written = [progress.update(step, {"pair0/g_total": float(step)}) for step in range(1, 6)]
    writer.flush()
    assert written[0] is None and written[1] == {"pair0/g_total": 1.5, "lr/generator": 0.25}
    logged = scalars(tmp_path)
    assert logged["pair0/g_total"] == {2: 1.5, 4: 3.5, 5: 5.0}  # means over steps 1-2, 3-4, and the last
    assert logged["lr/generator"] == {2: 0.25, 4: 0.25, 5: 0.25}


def test_resumed_progress_bar_times_only_the_steps_it_saw():
    from keras_mdsrgan.training.progress import ResumedProgbar

    bar = ResumedProgbar(24000, resumed_at=5000, verbose=0)
    assert bar._seen_so_far == 5000  # the bar starts where the run resumed
    # 10 steps in 20 s after the resume: 2 s a step (Keras alone divides by 5010: 4 ms).
    assert bar._estimate_step_duration(5010, bar._start + 20.0) == 2.0


def test_validator_traces_each_generator_once(monkeypatch):
    from keras_mdsrgan.quality import evaluation
    from keras_mdsrgan.training.validation import Validator

    made = []
    real = evaluation.generator_upscaler
    monkeypatch.setattr(evaluation, "generator_upscaler", lambda g: made.append(g) or real(g))
    cohort = build.build_cohort(TINY)
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    validator = Validator([("img", hr[::2, ::2], hr, False)], 2, cohort.generators)
    writer = tf.summary.create_noop_writer()
    validator.log(writer, 1)
    validator.log(writer, 2)
    assert made == cohort.generators


def test_shared_pretraining_is_copied_when_the_gan_stage_starts():
    from keras_mdsrgan.training import loop

    schedule = TrainConfig(pretrain_steps=3, gan_steps=2)
    cohort = build.build_cohort(dataclasses.replace(TINY, train=schedule))
    plan = loop.stages(cohort, schedule)
    assert [(s.name, s.first, s.end, sorted(s.optimizers)) for s in plan] == [
        ("pre-training (MSE)", 0, 3, ["lr/pretrain"]),
        ("GAN", 3, 5, ["lr/discriminator", "lr/generator"]),
    ]
    plan[1].on_enter()
    for a, b in zip(cohort.generators[0].get_weights(), cohort.generators[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    gan_only = loop.stages(cohort, TrainConfig(pretrain_steps=0, gan_steps=2))
    assert [s.name for s in gan_only] == ["GAN"] and gan_only[0].on_enter is None


def test_a_run_builds_and_checkpoints_only_what_its_schedule_trains():
    """No GAN stage: no discriminators, VGG or GAN optimizers (a pre-training checkpoint is the
    generator and its Adam state only); shared pre-training: one pre-training optimizer."""
    from keras_mdsrgan.training import checkpoints

    pretrain_only = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, pretrain_steps=3, gan_steps=0))
    cohort = build.build_cohort(pretrain_only)
    assert cohort.discriminators == [] and cohort.vgg_features is None
    assert (len(cohort.gen_optimizers), len(cohort.disc_optimizers), len(cohort.pretrain_optimizers)) == (0, 0, 1)
    saved = set(checkpoints.make_checkpoint(cohort, tf.Variable(0))._trackable_children())
    assert saved == {"step", "generator_0", "generator_1", "pretrain_optimizer_0"}
    gan_only = build.build_cohort(TINY)
    assert len(gan_only.discriminators) == 2 and gan_only.pretrain_optimizers == []
    separate = dataclasses.replace(pretrain_only, train=dataclasses.replace(pretrain_only.train, shared_pretrain=False))
    assert len(build.build_cohort(separate).pretrain_optimizers) == 2


def test_best_generator_follows_validation_psnr_across_resumes(tmp_path):
    """validation.jsonl gets every validation (a replayed step keeps its newest record);
    best/generator_0.keras is rewritten only when the PSNR improves, also after a restart."""
    from keras_mdsrgan.training.validation import BestKeeper, read_history

    generators = build.build_cohort(TINY).generators[:1]
    keeper = BestKeeper(str(tmp_path), generators)
    keeper.record(2, {"pair0": {"psnr": 20.0, "ssim": 0.5, "niqe": float("nan"), "pi": None}})
    best_file = tmp_path / "best" / "generator_0.keras"
    first = best_file.stat().st_mtime_ns
    keeper = BestKeeper(str(tmp_path), generators)  # a resumed run reads the best so far
    keeper.record(4, {"pair0": {"psnr": 19.0, "ssim": 0.5, "niqe": 5.0, "pi": None}})
    assert best_file.stat().st_mtime_ns == first
    keeper.record(4, {"pair0": {"psnr": 21.0, "ssim": 0.6, "niqe": 5.0, "pi": None}})  # step 4 replayed
    best = json.loads((tmp_path / "best" / "best.json").read_text())
    assert best["pair0"]["step"] == 4 and best["pair0"]["psnr"] == 21.0
    history = read_history(str(tmp_path))
    assert [r["step"] for r in history] == [2, 4] and history[1]["pair0"]["psnr"] == 21.0
    assert history[0]["pair0"]["niqe"] is None  # strict JSON


def test_a_gan_run_keeps_its_generator_at_the_lowest_validation_niqe(tmp_path):
    """--best_by=niqe: best/generator_K.keras follows the lowest NIQE (PSNR falls as the adversary
    works); a validation without NIQE (images too small) never replaces it; best.json says how."""
    from keras_mdsrgan.errors import ConfigError
    from keras_mdsrgan.training.validation import BestKeeper

    generators = build.build_cohort(TINY).generators[:1]
    keeper = BestKeeper(str(tmp_path), generators, by="niqe")
    for step, psnr, niqe in [(1, 28.0, 6.0), (2, 27.0, 5.0), (3, 26.5, None), (4, 27.5, float("nan")), (5, 28.5, 5.5)]:
        keeper.record(step, {"pair0": {"psnr": psnr, "ssim": 0.5, "niqe": niqe, "pi": None}})
    best = json.loads((tmp_path / "best" / "best.json").read_text())["pair0"]
    assert (best["step"], best["niqe"], best["by"]) == (2, 5.0, "niqe")
    resumed = BestKeeper(str(tmp_path), generators, by="niqe")
    resumed.record(6, {"pair0": {"psnr": 20.0, "ssim": 0.3, "niqe": 4.0, "pi": None}})
    assert json.loads((tmp_path / "best" / "best.json").read_text())["pair0"]["step"] == 6

    config = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, best_by="pi"))
    with pytest.raises(ConfigError, match="best_by=pi needs --ma_model"):
        config.validate()
    with pytest.raises(ConfigError, match="best_by must be one of"):
        dataclasses.replace(TINY.train, best_by="ssim").validate()


def test_training_seconds_add_up_across_resumes():
    """Each record carries its process's cost; the run's time counts each process's rate over the
    steps it ran until the next one resumed (steps it ran past its last record included)."""
    from keras_mdsrgan.training.validation import training_seconds

    machine = "AMD EPYC, 2 cores, no GPU"
    history = [
        {"step": 100, "from_step": 0, "wall_s": 50.0, "machine": machine},
        {"step": 200, "from_step": 0, "wall_s": 100.0, "machine": machine},  # 0.5 s a step
        # interrupted at 250 past its checkpoint 240: the next process resumes there
        {"step": 300, "from_step": 240, "wall_s": 60.0, "machine": machine},
    ]  # 1 s a step
    assert training_seconds(history) == pytest.approx(0.5 * 240 + 1.0 * 60)
    assert training_seconds([{"step": 100, "pair0": {}}]) is None  # a run older than the records
    assert training_seconds([]) is None


def test_validation_records_say_what_they_cost(tmp_path):
    from keras_mdsrgan.training import distributed
    from keras_mdsrgan.training.validation import BestKeeper, read_history

    keeper = BestKeeper(str(tmp_path), build.build_cohort(TINY).generators[:1], first_step=7)
    keeper.record(9, {"pair0": {"psnr": 20.0, "ssim": 0.5, "niqe": None, "pi": None}})
    record = read_history(str(tmp_path))[0]
    assert record["from_step"] == 7 and record["wall_s"] >= 0
    assert record["machine"] == distributed.describe_machine() and " cores" in record["machine"]
