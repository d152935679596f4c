import json
import os
import subprocess
import sys

import pytest
from absl import flags

from conftest import REPO

TINY = ["--train=sample:train", "--val=sample:val", "--val_max_images=1", "--scale=2", "--hr_patch=16",
        "--batch_size=2", "--num_pairs=2", "--gen_filters=4", "--gen_blocks=1", "--disc_filters=4",
        "--disc_dense=8", "--perceptual_weight=0", "--pixel_weight=1", "--checkpoint_every=2",
        "--log_every=1"]


def run_cli(*args, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "keras_mdsrgan.train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", ["x2.cfg", "x4.cfg", "quickstart.cfg", "repro_x2.cfg", "repro_x4.cfg"])
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
    elif name.startswith("repro"):  # the reduced study on ../shared, validated on its Set5
        assert config.data.scale == int(name[7]) and config.model.num_pairs == 2
        assert all("../shared/datasets/train/" in spec for spec in config.data.train)
        assert config.data.val == (f"../shared/datasets/benchmark/Set5/x{name[7]}/HR:"
                                   f"../shared/datasets/benchmark/Set5/x{name[7]}/LR",)
    else:
        assert all(spec.startswith("sample:") for spec in config.data.train + config.data.val)


@pytest.mark.parametrize("bad,expected", [("--no_such_flag=1", "Unknown command line flag 'no_such_flag'"),
                                          ("--batch_size=abc", "--batch_size"),
                                          ("--mode=mutual", "--mode")])
def test_bad_flags_get_absl_errors(bad, expected):
    result = run_cli("--flagfile=flags/quickstart.cfg", bad)
    assert result.returncode != 0
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_missing_vgg_weights_fail_at_start_in_one_line(tmp_path):
    result = run_cli(*TINY, "--perceptual_weight=1", f"--vgg_weights={tmp_path / 'vgg.h5'}",
                     f"--run_dir={tmp_path / 'run'}")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in errors[0]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_missing_ma_model_fails_at_start_in_one_line(tmp_path):
    result = run_cli(*TINY, f"--ma_model={tmp_path / 'model.mat'}", f"--run_dir={tmp_path / 'run'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "download model.mat of the sr-metric release" in errors[0]
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_missing_training_folder_is_a_clear_error(tmp_path):
    result = run_cli(*TINY, f"--train={tmp_path / 'nowhere'}", f"--run_dir={tmp_path / 'run'}")
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_tiny_run_writes_everything_and_resumes(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(*TINY, "--pretrain_steps=4", "--gan_steps=4", f"--run_dir={run_dir}",
                    f"--ma_model={os.path.join(REPO, 'tests', 'reference', 'ma_test_model.mat')}")
    assert first.returncode == 0, first.stderr[-3000:]
    for name in ("config.json", "flags.cfg", "generator_0.keras", "generator_1.keras", "results.json", "results.md"):
        assert (run_dir / name).is_file(), name
    assert sorted(os.listdir(run_dir / "samples")) == [
        "chelsea_bicubic.png", "chelsea_pair0.png", "chelsea_pair1.png", "chelsea_side_by_side.png"]
    assert any(n.startswith("events.") for n in os.listdir(run_dir / "tensorboard"))
    results = json.loads((run_dir / "results.json").read_text())
    assert results["scale"] == 2
    table = results["results"]["sample_val"]
    assert set(table) == {"bicubic", "pair0", "pair1"}
    for scores in table.values():
        assert scores["n_images"] == 1 and 5 < scores["psnr"] < 60 and 0 < scores["ssim"] <= 1
        assert scores["pi"] == pytest.approx(((10 - scores["ma"]) + scores["niqe"]) / 2)  # --ma_model
    assert results["pi_note"] is None
    assert "| sample_val |" in first.stdout
    saved_flags = (run_dir / "flags.cfg").read_text()
    assert "--gen_filters=4" in saved_flags and "restart" not in saved_flags

    # The same command with a longer schedule resumes from the saved step 8.
    second = run_cli(*TINY, "--pretrain_steps=4", "--gan_steps=6", f"--run_dir={run_dir}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming after step 8" in second.stdout
    assert "ckpt-10.index" in os.listdir(run_dir / "checkpoints")

    # Different network sizes cannot resume from these checkpoints: a clear error, nothing lost.
    mismatch = run_cli(*TINY, "--gen_filters=8", "--pretrain_steps=4", "--gan_steps=8", f"--run_dir={run_dir}")
    assert mismatch.returncode == 2 and "does not fit the current settings" in mismatch.stderr
    assert "ckpt-10.index" in os.listdir(run_dir / "checkpoints")

    # --restart starts from step 0 again.
    third = run_cli(*TINY, "--pretrain_steps=2", "--gan_steps=0", f"--run_dir={run_dir}", "--restart")
    assert third.returncode == 0, third.stderr[-3000:]
    assert sorted(n for n in os.listdir(run_dir / "checkpoints") if n.endswith(".index")) == ["ckpt-2.index"]


def test_init_generator_starts_every_pair_from_a_saved_generator(tmp_path):
    import keras

    import keras_mdsrgan.layers  # noqa: F401  (registers PixelShuffle for loading)

    pretrain = run_cli(*TINY, "--num_pairs=1", "--mode=independent", "--pretrain_steps=3", "--gan_steps=0",
                       f"--run_dir={tmp_path / 'pre'}")
    assert pretrain.returncode == 0, pretrain.stderr[-3000:]
    source = tmp_path / "pre" / "generator_0.keras"
    # A zero generator learning rate keeps the copied weights through one GAN step.
    gan = run_cli(*TINY, "--pretrain_steps=0", "--gan_steps=1", "--gen_lr=0", f"--init_generator={source}",
                  f"--run_dir={tmp_path / 'gan'}")
    assert gan.returncode == 0, gan.stderr[-3000:]

    def trainable(path):
        return [w.numpy() for w in keras.saving.load_model(path, compile=False).trainable_weights]

    expected = trainable(source)
    for k in range(2):
        for got, want in zip(trainable(tmp_path / "gan" / f"generator_{k}.keras"), expected, strict=True):
            assert (got == want).all()

    wrong = run_cli(*TINY, "--gen_filters=8", "--pretrain_steps=0", "--gan_steps=1", f"--init_generator={source}",
                    f"--run_dir={tmp_path / 'wrong'}")
    assert wrong.returncode == 2 and "architecture differs" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = run_cli(*TINY, "--gan_steps=1", f"--init_generator={tmp_path / 'none.keras'}",
                      f"--run_dir={tmp_path / 'missing'}")
    assert missing.returncode == 2 and "none.keras: no such file" in missing.stderr


def test_non_finite_loss_names_pair_and_term():
    from keras_mdsrgan import train_lib

    train_lib.check_finite({"pair0/g_total": 1.0, "pair1/d_total": 0.5}, step=3)
    with pytest.raises(train_lib.TrainingError, match="non-finite d_distill_kl of pair1 at step 7"):
        train_lib.check_finite({"pair0/g_total": 1.0, "pair1/d_distill_kl": float("nan")}, step=7)


def test_same_seeds_reproduce_a_run(tmp_path):
    def final_psnrs(name, *extra):
        result = run_cli(*TINY, "--pretrain_steps=3", "--gan_steps=3", f"--run_dir={tmp_path / name}", *extra)
        assert result.returncode == 0, result.stderr[-3000:]
        scores = json.loads((tmp_path / name / "results.json").read_text())["results"]["sample_val"]
        return [scores[f"pair{k}"]["psnr"] for k in range(2)]

    first = final_psnrs("a")
    assert final_psnrs("b") == first
    assert final_psnrs("c", "--seed=1") != first


def test_bad_validation_image_stops_before_training(tmp_path):
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = run_cli(*TINY, f"--val={tmp_path / 'val'}", "--gan_steps=2", f"--run_dir={tmp_path / 'run'}")
    assert result.returncode == 2 and "broken.png" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()
