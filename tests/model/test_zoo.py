"""The zoo's mechanism, on a small generator packed into a temporary zoo folder."""

import numpy as np
import pytest

from conftest import run_python
from keras_mdsrgan.model import inference, zoo
from keras_mdsrgan.model.generators import build_srresnet
from keras_mdsrgan.training import build


@pytest.fixture
def small_zoo(tmp_path, monkeypatch):
    import keras

    keras.utils.set_random_seed(3)
    generator = build_srresnet(2, filters=8, num_blocks=2, batchnorm=False)
    folder = tmp_path / "zoo"
    size = zoo.pack(generator, str(folder / "tiny.npz"))
    monkeypatch.setattr(zoo, "FOLDER", str(folder))
    return generator, size


def test_a_packed_model_loads_by_name_in_half_precision(small_zoo):
    generator, size = small_zoo
    assert zoo.names() == ["tiny"]
    loaded = zoo.load("zoo:tiny")
    assert [w.dtype for w in loaded.get_weights()] == [np.float32] * len(generator.get_weights())
    for a, b in zip(loaded.get_weights(), generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b.astype(np.float16).astype(np.float32))
    assert size < len(generator.to_json()) + 2.2 * sum(w.size for w in generator.get_weights())  # 2 bytes a weight
    lr = np.random.default_rng(0).random((1, 9, 7, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded(lr).numpy(), generator(lr).numpy(), atol=2e-3)


def test_zoo_names_work_where_model_paths_do(small_zoo, monkeypatch):
    upscaler = inference.load("zoo:tiny")
    assert upscaler.float_call(np.zeros((1, 5, 6, 3), np.float32)).shape == (1, 10, 12, 3)
    target = build_srresnet(2, filters=8, num_blocks=2, batchnorm=False)
    build.copy_generator_weights("zoo:tiny", [target])
    assert build.generator_path("zoo:tiny").endswith("tiny.npz")
    with pytest.raises(zoo.ZooError, match=r"^zoo:x9: no such model in the zoo \(zoo:tiny\)$"):
        inference.load("zoo:x9")


@pytest.fixture
def finished_run(tmp_path):
    """A run folder as training leaves it: config.json, validation.jsonl, best/generator_0.keras."""
    import json

    import keras

    from keras_mdsrgan.config import DataConfig, RunConfig
    from keras_mdsrgan.training.validation import BestKeeper

    keras.utils.set_random_seed(4)
    generator = build_srresnet(2, filters=8, num_blocks=2, batchnorm=False, bilinear_skip=True, init_scale=0.3)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(RunConfig(data=DataConfig(scale=2, train=("sample:train",))).to_dict()))
    keeper = BestKeeper(str(run), [generator], first_step=0)
    keeper.record(500, {"pair0": {"psnr": 25.0, "ssim": 0.7, "niqe": None, "pi": None}})
    keeper.record(1000, {"pair0": {"psnr": 24.0, "ssim": 0.7, "niqe": 6.5, "pi": None}})
    return run, generator


def test_packing_measures_the_card_with_the_weights_as_shipped(finished_run, tmp_path):
    from keras_mdsrgan.data import pipelines
    from keras_mdsrgan.quality import evaluation
    from keras_mdsrgan.zoo import packing

    run, generator = finished_run
    target, card = packing.pack_run(
        "tiny", str(run), {"val": "sample:val"}, folder=str(tmp_path / "zoo"), verbose=False
    )
    assert target == str(tmp_path / "zoo" / "tiny.npz")
    shipped = zoo.load("zoo:tiny", str(tmp_path / "zoo"))
    again = evaluation.evaluate(
        {"m": evaluation.generator_upscaler(shipped)}, pipelines.evaluation_images("sample:val", 2), 2
    )["m"]
    assert card["dtype"] == "float16" and card["float16_cost_db"] <= packing.TOLERANCE_DB
    assert card["scores"]["val"] == {k: again[k] for k in ("psnr", "ssim", "niqe")}  # the file's own scores
    assert card["architecture"] == (
        "SRResNet: 2 residual block(s) × 8 channels, PReLU, pixel-shuffle upsampling, no batch norm, bilinear skip"
    )
    assert card["parameters"] == generator.count_params() and card["scale"] == 2
    t = card["training"]
    assert (t["step"], t["steps_run"], t["validation_psnr"], t["data"]) == (500, 1000, 25.0, ["sample:train"])
    assert t["images"] == len(pipelines.resolve_pairs("sample:train")) and t["hours"] is not None and t["machines"]
    assert t["curve"] == [[500, 25.0], [1000, 24.0]]  # the validation curves, for docs/MODELS.md's plot
    assert t["niqe_curve"] == [[1000, 6.5]]  # only where NIQE was measured
    from keras_mdsrgan.config import LossConfig, TrainConfig

    assert (t["pretrain_steps"], t["gan_steps"]) == (TrainConfig().pretrain_steps, TrainConfig().gan_steps)

    losses = ("mode", "pixel_weight", "perceptual_weight", "adversarial_weight")
    assert card["loss"] == {k: getattr(LossConfig(), k) for k in losses}  # the run's (default) losses
    assert zoo.info("zoo:tiny", str(tmp_path / "zoo")) == card


def test_packing_keeps_float32_when_half_precision_costs_too_much(finished_run, tmp_path, monkeypatch):
    from keras_mdsrgan.zoo import packing

    monkeypatch.setattr(packing, "TOLERANCE_DB", -1.0)  # no cost is small enough
    target, card = packing.pack_run(
        "tiny", str(finished_run[0]), {"val": "sample:val"}, folder=str(tmp_path / "zoo"), verbose=False
    )
    assert card["dtype"] == "float32"
    with np.load(target) as stored:
        assert stored["w0"].dtype == np.float32
    loaded = zoo.load("zoo:tiny", str(tmp_path / "zoo"))
    for a, b in zip(loaded.get_weights(), finished_run[1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_listing_names_every_shipped_model_with_its_card(finished_run, tmp_path):
    import os

    from keras_mdsrgan.zoo import cards, packing

    target, card = packing.pack_run(
        "tiny", str(finished_run[0]), {"val": "sample:val"}, folder=str(tmp_path / "zoo"), verbose=False
    )
    table = cards.table({"tiny": card}, {"tiny": os.path.getsize(target)})
    row = table.splitlines()[2]
    assert row.startswith("| zoo:tiny | x2 | SRResNet: 2 residual block(s) × 8 channels") and "float16" in row
    assert f"{card['scores']['val']['psnr']:.2f} / " in row and "step 500 of 1000" in row
    assert "val PSNR / SSIM / NIQE" in table.splitlines()[0]
    # The installed zoo: every file listed, nothing else.
    result = run_python("-m", "keras_mdsrgan.zoo", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    listed = [line.split(" | ")[0][2:] for line in result.stdout.splitlines()[2:]]
    assert listed == [zoo.PREFIX + n for n in zoo.names()] or (not zoo.names() and "no models" in result.stdout)


def test_packing_errors_are_one_line(tmp_path):

    result = run_python(
        "-m", "keras_mdsrgan.zoo", "--pack=x", f"--run_dir={tmp_path}", "--datasets=val=sample:val", timeout=300
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"error: {tmp_path}/best/generator_0.keras: not found (the run has no "
        "validated generator for pair 0)"
    )


@pytest.mark.parametrize("name", zoo.names())
def test_each_shipped_model_loads_by_name_and_beats_bicubic(name, shared_datasets):
    """On Set5's first image (img_001, the baby) at the model's scale. A PSNR-oriented model beats
    bicubic's PSNR by at least 0.5 dB; one chosen by a perceptual score (a GAN stage) beats its NIQE
    by at least 1 and stays within 2 dB of its PSNR (`x4-gan`: NIQE 5.26 against 7.50, PSNR 30.58
    against 31.78). Random weights fail both (the bilinear skip alone: 30.83 dB, NIQE 8.41)."""
    import os

    from keras_mdsrgan.data import pipelines
    from keras_mdsrgan.quality import evaluation

    info = zoo.info(f"zoo:{name}")
    scale = info["scale"]
    folder = os.path.join(shared_datasets, "benchmark", "Set5", f"x{scale}")
    images = pipelines.evaluation_images(f"{folder}/HR:{folder}/LR", scale, max_images=1)
    upscalers = {
        "model": evaluation.generator_upscaler(zoo.load(f"zoo:{name}")),
        "bicubic": evaluation.bicubic_upscaler(scale),
    }
    scores = evaluation.evaluate(upscalers, images, scale)
    model, bicubic = scores["model"], scores["bicubic"]
    assert len(model["per_image"]) == 1
    if not zoo.perceptual(info):
        assert model["psnr"] > bicubic["psnr"] + 0.5
    else:
        assert model["niqe"] < bicubic["niqe"] - 1.0 and model["psnr"] > bicubic["psnr"] - 2.0
