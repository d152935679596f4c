import dataclasses
import os

import pytest
from absl import flags

from conftest import REPO, TINY_RUN, run_command, run_python

TINY = [
    *TINY_RUN,
    "--num_pairs=2",
    "--checkpoint_every=2",
    "--log_every=1",
]


def run_cli(*args, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return run_python("-m", "keras_mdsrgan.train", *args, env=env, timeout=timeout)


def run_in_process(capfd, *args) -> tuple[int, list[str], str]:
    """``train`` on ``args`` in this process: the exit status, the stderr lines starting with
    ``error:`` and stdout."""
    result = run_command(capfd, "train", *args)
    return result.returncode, [line for line in result.stderr.splitlines() if line.startswith("error:")], result.stdout


@pytest.mark.parametrize(
    "name",
    [
        "x2.cfg",
        "x4.cfg",
        "quickstart.cfg",
        "quickstart_start.cfg",
        "repro_x2.cfg",
        "repro_x4.cfg",
        "zoo_x2.cfg",
        "zoo_x4.cfg",
        "zoo_x4_gan.cfg",
    ],
)
def test_flagfiles_parse_into_valid_configs(name):
    from keras_mdsrgan import train

    try:
        flags.FLAGS(["train", f"--flagfile={os.path.join(REPO, 'flags', name)}"])
        config = train.config_from_flags()
    finally:
        flags.FLAGS.unparse_flags()
    config.validate()
    if name.startswith("x"):  # the paper's SRGAN setting
        assert (config.model.gen_blocks, config.model.gen_filters, config.data.batch_size) == (16, 64, 16)
        assert config.loss.adversarial_weight == 1e-3 and config.train.gen_lr == 1e-4
        assert config.data.scale == int(name[1])
    elif name.startswith("zoo"):  # trained on the 291 images less the holdout, chosen on it
        assert config.data.train == ("../shared/datasets/train/T91", "flags/zoo/train_bsd200.txt")
        assert config.data.val[0] == "holdout=flags/zoo/holdout.txt"
        gan = name == "zoo_x4_gan.cfg"
        assert (config.train.best_by, config.model.num_pairs, config.loss.mode) == (
            ("niqe", 2, "ml") if gan else ("psnr", 1, "independent")
        )
        assert config.train.init_generator == {"zoo_x2.cfg": None, "zoo_x4.cfg": "zoo:x2"}.get(name, "zoo:x4")
    elif name.startswith("repro"):  # the reduced study on ../shared, validated on its Set5
        assert config.data.scale == int(name[7]) and config.model.num_pairs == 2
        assert all("../shared/datasets/train/" in spec for spec in config.data.train)
        assert config.data.val == (
            f"Set5=../shared/datasets/benchmark/Set5/x{name[7]}/HR:../shared/datasets/benchmark/Set5/x{name[7]}/LR",
        )
    else:
        assert all(spec.startswith("sample:") for spec in config.data.train + config.data.val)


def test_tensorflow_info_messages_stay_off_the_console(caplog):
    from absl import logging as absl_logging

    from keras_mdsrgan import cli

    before = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)  # what absl makes of the default --verbosity=0
    try:
        cli.quiet_tensorflow()
        absl_logging.info("Sharding callback duration: 9 microseconds")  # as TF's checkpoint saver logs
        absl_logging.set_verbosity(absl_logging.INFO)  # as TF does while saving a SavedModel (export)
        absl_logging.info("Function `core` contains input name(s) ...")
        absl_logging.warning("a warning still shows")
        absl_logging.set_verbosity(1)  # --verbosity=1
        absl_logging.info("shown at --verbosity=1")
    finally:
        absl_logging.set_verbosity(before)
    shown = [record.getMessage() for record in caplog.records]
    assert shown == ["a warning still shows", "shown at --verbosity=1"]


def test_unknown_flag_gets_absl_error_without_traceback():
    result = run_cli("--flagfile=flags/quickstart.cfg", "--no_such_flag=1")
    assert result.returncode != 0
    assert "Unknown command line flag 'no_such_flag'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("bad", ["--batch_size=abc", "--mode=mutual", "--scale=5"])
def test_bad_flag_values_are_refused_by_the_parser(bad):
    from keras_mdsrgan import train  # noqa: F401  (defines the flags; the test may run first in its process)

    with pytest.raises(flags.IllegalFlagValueError, match=bad.split("=")[0].lstrip("-")):
        flags.FLAGS(["train", "--flagfile=flags/quickstart.cfg", bad])
    flags.FLAGS.unparse_flags()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--perceptual_weight=1", "--vgg_weights={tmp}/vgg.h5"], "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        (["--ma_model={tmp}/model.mat"], "download model.mat of the sr-metric release"),
        (["--train={tmp}/nowhere"], "does not exist"),
        (["--val=A={tmp},A={tmp}"], "two datasets are both named 'A'"),
        (["--gan_steps=1", "--init_generator={tmp}/none.keras"], "none.keras: no such file"),
    ],
    ids=["vgg", "ma_model", "train_folder", "val_names", "init_generator"],
)
def test_user_errors_stop_before_training_in_one_line(tmp_path, capfd, args, message):
    status, errors, _ = run_in_process(
        capfd, *TINY, *(a.format(tmp=tmp_path) for a in args), f"--run_dir={tmp_path / 'run'}"
    )
    assert status == 2 and len(errors) == 1 and message in errors[0], errors
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_max_image_pixels_guards_training_images(tmp_path, capfd, monkeypatch):
    """Training has the decompression-bomb limit its message points to, as upscale and evaluate."""
    from PIL import Image

    from keras_mdsrgan import train
    from keras_mdsrgan.data import imageio

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # set process-wide by main
    monkeypatch.setattr(imageio, "_max_image_pixels", imageio.DEFAULT_MAX_IMAGE_PIXELS)
    (tmp_path / "train").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "train" / "a.png")
    try:
        flags.FLAGS(
            [
                "train",
                "--verbosity=0",
                *TINY,
                f"--train={tmp_path / 'train'}",
                "--max_image_pixels=1000",
                f"--run_dir={tmp_path / 'run'}",
            ]
        )
        status = train.main(["train"])
    finally:
        flags.FLAGS.unparse_flags()
    err = capfd.readouterr().err
    assert status == 2 and "error: 1 unusable image file(s)" in err
    assert f"{tmp_path / 'train' / 'a.png'}: 40x30 = 1200 pixels, above the limit of 1000" in err
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_internal_errors_keep_their_traceback(monkeypatch, capfd):
    """Only UserError becomes a one-line message; a bug (here a ValueError) surfaces."""
    from keras_mdsrgan.training import loop

    def broken(*args, **kwargs):
        raise ValueError("an internal bug")

    monkeypatch.setattr(loop, "run", broken)
    with pytest.raises(ValueError, match="an internal bug"):
        run_in_process(capfd, *TINY)


def test_init_generator_starts_every_pair_from_a_saved_generator(tmp_path, capfd):
    import keras

    import keras_mdsrgan.model.layers  # noqa: F401  (registers PixelShuffle for loading)
    from keras_mdsrgan.model.generators import build_srresnet

    source = tmp_path / "pre.keras"  # the sizes of TINY
    build_srresnet(scale=2, filters=4, num_blocks=1).save(source)
    # A zero generator learning rate keeps the copied weights through one GAN step (no validation:
    # only the weights are compared).
    status, _, _ = run_in_process(
        capfd,
        *TINY,
        "--val=",
        "--pretrain_steps=0",
        "--gan_steps=1",
        "--gen_lr=0",
        f"--init_generator={source}",
        f"--run_dir={tmp_path / 'gan'}",
    )
    assert status == 0

    def trainable(path):
        return [w.numpy() for w in keras.saving.load_model(path, compile=False).trainable_weights]

    expected = trainable(source)
    for k in range(2):
        for got, want in zip(trainable(tmp_path / "gan" / f"generator_{k}.keras"), expected, strict=True):
            assert (got == want).all()

    status, errors, _ = run_in_process(
        capfd,
        *TINY,
        "--gen_filters=8",
        "--pretrain_steps=0",
        "--gan_steps=1",
        f"--init_generator={source}",
        f"--run_dir={tmp_path / 'wrong'}",
    )
    assert status == 2 and len(errors) == 1 and "architecture differs" in errors[0]


def test_the_quickstart_starts_from_the_shipped_generator():
    import keras

    import keras_mdsrgan.model.layers  # noqa: F401  (registers PixelShuffle for loading)
    from keras_mdsrgan import train
    from keras_mdsrgan.errors import UserError
    from keras_mdsrgan.training import build

    try:
        flags.FLAGS(["train", f"--flagfile={os.path.join(REPO, 'flags', 'quickstart.cfg')}"])
        config = train.config_from_flags()
    finally:
        flags.FLAGS.unparse_flags()
    assert config.train.init_generator == "sample:srresnet_x4"
    cohort = build.build_cohort(config)
    build.copy_generator_weights(config.train.init_generator, cohort.generators)  # its architecture fits
    shipped = keras.saving.load_model(build.generator_path("sample:srresnet_x4"), compile=False)
    for generator in cohort.generators:
        assert all((a == b).all() for a, b in zip(generator.get_weights(), shipped.get_weights(), strict=True))
    with pytest.raises(UserError, match="unknown sample generator; use one of sample:srresnet_x4"):
        build.generator_path("sample:srresnet_x2")


def test_non_finite_loss_names_pair_and_term():
    from keras_mdsrgan.training import loop

    loop.check_finite({"pair0/g_total": 1.0, "pair1/d_total": 0.5}, step=3)
    with pytest.raises(loop.TrainingError, match="non-finite d_distill_kl of pair1 at step 7"):
        loop.check_finite({"pair0/g_total": 1.0, "pair1/d_distill_kl": float("nan")}, step=7)


def test_the_xla_compiled_steps_train(tmp_path, capfd, monkeypatch):
    """The suite's one training with XLA (TINY_RUN turns it off): both stages compile and run, and
    the run's check of every loss term passes."""
    from keras_mdsrgan.training import distributed

    xla, use_xla = [], distributed.use_xla
    monkeypatch.setattr(distributed, "use_xla", lambda *a: xla.append(use_xla(*a)) or xla[-1])
    status, _, _ = run_in_process(
        capfd, *TINY, "--val=", "--pretrain_steps=1", "--gan_steps=1", f"--run_dir={tmp_path}", "--jit_compile"
    )
    assert status == 0 and xla == [True]
    assert (tmp_path / "checkpoints" / "ckpt-2.index").is_file()


def test_the_seed_sets_the_initial_weights():
    from keras_mdsrgan import train
    from keras_mdsrgan.training import build

    try:
        flags.FLAGS(["train", *TINY])
        config = train.config_from_flags()
    finally:
        flags.FLAGS.unparse_flags()

    def initial_weights(seed):
        cohort = build.build_cohort(dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed)))
        return [w for net in cohort.generators + cohort.discriminators for w in net.get_weights()]

    first = initial_weights(0)
    assert all((x == y).all() for x, y in zip(initial_weights(0), first, strict=True))
    assert not all((x == y).all() for x, y in zip(initial_weights(1), first, strict=True))


def test_bad_validation_image_stops_before_training(tmp_path, capfd):
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    status, errors, _ = run_in_process(
        capfd, *TINY, f"--val={tmp_path / 'val'}", "--gan_steps=2", f"--run_dir={tmp_path / 'run'}"
    )
    assert status == 2 and len(errors) == 1 and "broken.png" in errors[0]
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_init_partial_copies_an_x2_body_into_an_x4_generator(tmp_path, caplog):
    import logging

    from keras_mdsrgan.errors import UserError
    from keras_mdsrgan.model.generators import build_srresnet
    from keras_mdsrgan.training import build

    source = tmp_path / "x2.keras"
    x2 = build_srresnet(scale=2, filters=4, num_blocks=2, batchnorm=False)
    x2.save(source)
    x4 = build_srresnet(scale=4, filters=4, num_blocks=2, batchnorm=False)
    with caplog.at_level(logging.INFO, logger="keras_mdsrgan.training.build"):
        build.copy_generator_weights(str(source), [x4], partial=True)
    for layer in x4.layers:
        if layer.weights and layer.name not in ("up1_conv", "up1_prelu"):
            for a, b in zip(layer.get_weights(), x2.get_layer(layer.name).get_weights(), strict=True):
                assert (a == b).all(), layer.name
    fresh = x4.get_layer("up1_conv").kernel.numpy()
    assert (
        fresh.shape == x2.get_layer("up0_conv").kernel.shape
        and not (fresh == x2.get_layer("up0_conv").kernel.numpy()).all()
    )
    assert "copied 12 of 14 layers; fresh: up1_conv, up1_prelu" in caplog.text
    with pytest.raises(UserError, match="architecture differs.*--init_partial"):
        build.copy_generator_weights(str(source), [x4])
    with pytest.raises(UserError, match="no layer matches"):
        build.copy_generator_weights(str(source), [build_srresnet(scale=4, filters=8, num_blocks=1)], partial=True)
