import base64
import io
import json
import os
import re
import shutil
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from conftest import run_python
from keras_mdsrgan.config import DataConfig, LossConfig, RunConfig
from keras_mdsrgan.data import imageio, pipelines
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.export import exporter, modelcard, onnxmodel, tflite
from keras_mdsrgan.model import inference
from keras_mdsrgan.model.generators import build_srresnet
from keras_mdsrgan.quality import evaluation

SCALE = 2


@pytest.fixture(scope="module")
def trained_generator(tmp_path_factory):
    """A small x2 generator trained briefly with MSE (on small patches, for speed), so quantization
    is tested on real weights."""
    keras.utils.set_random_seed(0)
    generator = build_srresnet(SCALE, filters=16, num_blocks=2)
    store = pipelines.build_training_store(["sample:train"], SCALE, 32)
    generator.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    generator.fit(
        pipelines.training_dataset(store, 16, 8, seed=0), steps_per_epoch=250, epochs=1, verbose=0, shuffle=False
    )
    path = str(tmp_path_factory.mktemp("gen") / "generator.keras")
    generator.save(path)
    return path


RUN_RESULTS = {
    "Set5": {
        "bicubic": {"psnr": 30.5, "ssim": 0.9, "niqe": 7.25, "pi": None},
        "pair0": {"psnr": 31.625, "ssim": 0.91, "niqe": 6.5, "pi": None},
    }
}


@pytest.fixture(scope="module")
def run_dir(trained_generator, tmp_path_factory):
    """A finished run as training leaves it: generator, config.json, flags.cfg, results.json."""
    run = tmp_path_factory.mktemp("run")
    shutil.copy(trained_generator, run / "generator_0.keras")
    config = RunConfig(data=DataConfig(scale=SCALE), loss=LossConfig(perceptual_weight=0.0))
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    (run / "flags.cfg").write_text(f"--scale={SCALE}\n--perceptual_weight=0.0\n")
    (run / "results.json").write_text(json.dumps({"scale": SCALE, "results": RUN_RESULTS}))
    return run


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = run_python(
        "-m",
        "export",
        f"--run_dir={run_dir}",
        f"--out={out}",
        f"--formats={','.join(exporter.FORMATS)}",
        "--calibration_samples=32",
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"exported x{SCALE} generator {run_dir / 'generator_0.keras'} to {out}" in result.stdout
    assert all(f"  {kind} " in result.stdout for kind in exporter.FORMATS)
    assert not re.search(r"^I\d{4} \d\d:\d\d", result.stderr, re.M)  # no TensorFlow INFO lines (absl's format)
    return out


def test_manifest_and_tflite_parity(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["scale"] == SCALE and manifest["receptive_radius_lr"] >= 4 + 2 * 2 * 2
    parity = manifest["parity"]
    for kind in ("tflite_fp32", "tflite_fp16"):
        assert parity[kind]["psnr_vs_keras_db"] == "inf" or parity[kind]["psnr_vs_keras_db"] >= 50
    assert abs(parity["tflite_int8"]["psnr_vs_hr_db"] - parity["keras"]["psnr_vs_hr_db"]) <= 0.3
    assert parity["saved_model"]["psnr_vs_keras_db"] in ("inf",) or parity["saved_model"]["psnr_vs_keras_db"] > 60
    files = manifest["files"]
    assert files["tflite_fp16"]["bytes"] < 0.7 * files["tflite_fp32"]["bytes"]
    assert files["tflite_int8"]["bytes"] < 0.4 * files["tflite_fp32"]["bytes"]
    for kind in ("tflite_fp32", "tflite_fp16", "tflite_int8_dynamic", "tflite_int8"):
        assert not [op for op in files[kind]["ops"] if op.startswith("Flex")]
        assert (exported / files[kind]["path"]).is_file()


def test_int8_model_holds_int8_weights_and_float_io(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported / "generator_int8.tflite"))
    dtypes = {d["dtype"] for d in interpreter.get_tensor_details()}
    assert np.int8 in dtypes
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert interpreter.get_output_details()[0]["dtype"] == np.float32


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_tflite_runs_at_any_size(exported, kind):
    model = inference.TFLiteUpscaler(str(exported / f"generator_{kind}.tflite"), num_threads=2)
    for shape in ((1, 17, 23, 3), (1, 40, 32, 3)):
        out = model.float_call(np.random.default_rng(0).random(shape, dtype=np.float32))
        assert out.shape == (1, shape[1] * SCALE, shape[2] * SCALE, 3) and np.all(np.isfinite(out))


def test_saved_model_signatures_in_fresh_process(exported):
    path = exported / "saved_model" / "mdsrgan" / "1"
    assert (path / "saved_model.pb").is_file()
    script = f"""
import json, tensorflow as tf
m = tf.saved_model.load({str(path)!r})
out = {{}}
for name, sig in m.signatures.items():
    _, inputs = sig.structured_input_signature
    out[name] = {{k: [v.dtype.name, v.shape.as_list()] for k, v in inputs.items()}}
    out[name + ":out"] = {{k: [v.dtype.name, v.shape.as_list()] for k, v in sig.structured_outputs.items()}}
print(json.dumps(out))
"""
    result = run_python("-c", script, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    sigs = json.loads(result.stdout.strip().splitlines()[-1])
    assert sigs["serving_default"] == {"lr": ["uint8", [None, None, None, 3]]}
    assert sigs["serving_default:out"] == {"sr": ["uint8", [None, None, None, 3]]}
    assert sigs["serving_float"] == {"lr": ["float32", [None, None, None, 3]]}
    assert sigs["serving_bytes"] == {"lr_bytes": ["string", [None]]}
    assert sigs["serving_bytes:out"] == {"sr_bytes": ["string", [None]]}


def test_predict_request_round_trip_matches_keras(exported, trained_generator):
    from tensorflow_serving.apis import predict_pb2

    image = np.random.default_rng(3).integers(0, 256, (2, 19, 27, 3), dtype=np.uint8)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mdsrgan"
    request.model_spec.signature_name = "serving_default"
    request.inputs["lr"].CopyFrom(tf.make_tensor_proto(image))
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())  # over the wire

    loaded = tf.saved_model.load(str(exported / "saved_model" / "mdsrgan" / "1"))
    signature = loaded.signatures[request.model_spec.signature_name]
    inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
    served = signature(**inputs)["sr"].numpy()

    generator = keras.saving.load_model(trained_generator, compile=False)
    expected = inference.to_uint8(generator(image.astype(np.float32) / 255.0).numpy())
    assert served.dtype == np.uint8 and served.shape == (2, 38, 54, 3)
    assert np.abs(served.astype(int) - expected).max() <= 1

    wrong = (TypeError, ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(wrong, match="expected to be a uint8 tensor but is a float tensor"):
        signature(lr=tf.constant(image.astype(np.float32)))
    with pytest.raises(wrong, match="shape|rank"):
        signature(lr=tf.constant(image[0]))  # rank 3


def test_generator_choice_errors_name_the_input(tmp_path):
    with pytest.raises(exporter.ExportInputError, match="exactly one of --run_dir and --model"):
        exporter.choose_generator(str(tmp_path), None, str(tmp_path / "g.keras"))
    with pytest.raises(exporter.ExportInputError, match="x.keras: no such file"):
        exporter.choose_generator(None, None, str(tmp_path / "x.keras"))
    with pytest.raises(exporter.ExportInputError, match="results.json: cannot read validation results"):
        exporter.choose_generator(str(tmp_path), None, None)
    with pytest.raises(exporter.ExportInputError, match="generator_3.keras: no such generator"):
        exporter.choose_generator(str(tmp_path), 3, None)
    (tmp_path / "results.json").write_text(json.dumps({"results": {"Set5": {"bicubic": {"psnr": 30.0}}}}))
    with pytest.raises(exporter.ExportInputError, match="no pairK results"):
        exporter.best_pair(str(tmp_path))


def test_best_pair_by_mean_validation_psnr(tmp_path):
    results = {
        "Set5": {"bicubic": {"psnr": 40.0}, "pair0": {"psnr": 31.0}, "pair1": {"psnr": 30.0}},
        "Set14": {"bicubic": {"psnr": 40.0}, "pair0": {"psnr": 27.0}, "pair1": {"psnr": 29.0}},
    }
    (tmp_path / "results.json").write_text(json.dumps({"results": results}))
    (tmp_path / "generator_1.keras").write_bytes(b"")
    path, source = exporter.choose_generator(str(tmp_path), None, None)
    assert path == str(tmp_path / "generator_1.keras")
    assert source["pair"] == 1 and source["chosen_by"] == "validation PSNR 29.500 dB"


def test_unknown_formats_are_refused_before_any_work():
    with pytest.raises(exporter.ExportInputError, match=r"unknown --formats \['tflite_int4'\]"):
        exporter.ExportOptions(formats=("saved_model", "tflite_int4"))
    assert exporter.FORMATS == ("saved_model", *tflite.FORMATS, "onnx")
    assert "onnx" not in exporter.ExportOptions().formats  # optional packages: not a default


def test_onnx_without_its_packages_is_one_line_naming_pip(monkeypatch, tmp_path):
    real = onnxmodel.importlib.util.find_spec
    monkeypatch.setattr(onnxmodel.importlib.util, "find_spec", lambda name: None if name == "tf2onnx" else real(name))
    with pytest.raises(
        onnxmodel.OnnxUnavailable, match=r"--formats=onnx needs tf2onnx: pip install 'keras-mdsrgan\[onnx\]'"
    ):
        exporter.ExportOptions(formats=("saved_model", "onnx"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    (tmp_path / "g.onnx").write_bytes(b"")
    with pytest.raises(UserError, match=r"g.onnx: running .onnx models needs onnxruntime: pip install"):
        inference.load(str(tmp_path / "g.onnx"))


def test_unreadable_generator_is_a_user_error(tmp_path):
    (tmp_path / "broken.keras").write_text("not a model")
    with pytest.raises(UserError, match="broken.keras: cannot load a Keras model"):
        exporter.export_generator(str(tmp_path / "broken.keras"), {}, str(tmp_path / "out"), exporter.ExportOptions())
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_one_line(tmp_path):
    result = run_python("-m", "export", f"--model={tmp_path / 'x.keras'}", f"--out={tmp_path}", timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'x.keras'}: no such file"


def _keras_uint8(generator_path: str, lr: np.ndarray) -> np.ndarray:
    """The Keras generator's uint8 output for uint8 images [batch, H, W, 3]."""
    generator = keras.saving.load_model(generator_path, compile=False)
    return inference.to_uint8(generator(lr.astype(np.float32) / 255.0).numpy())


@pytest.mark.parametrize("kind, min_psnr", [("fp32", 60), ("fp16", 45), ("int8_dynamic", 35), ("int8", 30)])
def test_tflite_parity_checked_by_an_interpreter_of_the_tests_own(exported, trained_generator, kind, min_psnr):
    """Not the exporter's word for it (its manifest): each .tflite run here on a photo crop it
    never saw, against Keras, in grey levels."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_mdsrgan.quality import metrics

    lr = imageio.read_image(pipelines.resolve_pairs("sample:val")[0].hr_path)[None, 100:140, 150:196]
    interpreter = Interpreter(model_path=str(exported / f"generator_{kind}.tflite"), num_threads=2)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], lr.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], lr.astype(np.float32) / 255.0)
    interpreter.invoke()
    sr = inference.to_uint8(interpreter.get_tensor(target["index"]))
    reference = _keras_uint8(trained_generator, lr)
    assert sr.shape == reference.shape == (1, 80, 92, 3)
    assert metrics.psnr(reference[0], sr[0], y_only=False) >= min_psnr
    if kind == "fp32":
        assert np.abs(sr.astype(int) - reference).max() <= 1


def test_onnx_dynamic_shapes_and_parity(exported, trained_generator):
    import onnxruntime

    manifest = json.loads((exported / "manifest.json").read_text())
    entry = manifest["files"]["onnx"]
    assert entry["path"] == "generator.onnx" and entry["opset"] == onnxmodel.OPSET == 17
    assert "Transpose" not in entry["ops"] and entry["runtime"].startswith("onnxruntime ")
    assert manifest["parity"]["onnx"]["max_abs_diff_vs_keras"] <= 1
    assert manifest["onnx"]["inputs"]["lr"].startswith("float32 [batch, 3, height, width] in [0, 1]")

    session = onnxruntime.InferenceSession(str(exported / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    for shape in ((1, 17, 23, 3), (2, 40, 32, 3)):  # any batch, height and width
        lr = np.random.default_rng(shape[1]).integers(0, 256, shape, dtype=np.uint8)
        sr = session.run(None, {"lr": lr.transpose(0, 3, 1, 2).astype(np.float32) / 255.0})[0]
        assert sr.shape == (shape[0], 3, shape[1] * SCALE, shape[2] * SCALE)
        served = inference.to_uint8(sr.transpose(0, 2, 3, 1))
        assert np.abs(served.astype(int) - _keras_uint8(trained_generator, lr)).max() <= 1


def test_upscale_and_evaluate_take_onnx(exported, trained_generator):
    path = str(exported / "generator.onnx")
    upscaler = inference.load(path)
    assert isinstance(upscaler, inference.OnnxUpscaler)
    assert upscaler.radius == json.loads((exported / "manifest.json").read_text())["receptive_radius_lr"]
    lr = np.random.default_rng(5).integers(0, 256, (30, 26, 3), dtype=np.uint8)
    tiled = inference.upscale(upscaler, lr, tile=12)
    assert np.abs(tiled.astype(int) - _keras_uint8(trained_generator, lr[None])[0]).max() <= 1
    assert evaluation.load_upscaler(path, SCALE)(lr).shape == (60, 52, 3)
    with pytest.raises(UserError, match="upscales by 2, not --scale=4"):
        evaluation.load_upscaler(path, 4)
    broken = exported.parent / "broken.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(UserError, match="broken.onnx: not an ONNX model"):
        inference.load(str(broken))


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _rest_layer(body: str, signature) -> str:
    """What TF Serving's REST API does with a row-format request: {"b64": ...} to bytes, the batch
    to one string tensor, and an output named *_bytes back to {"b64": ...}."""
    request = json.loads(body)
    values = [base64.b64decode(row["lr_bytes"]["b64"]) for row in request["instances"]]
    outputs = signature(lr_bytes=tf.constant(values))["sr_bytes"].numpy()
    return json.dumps({"predictions": [{"b64": base64.b64encode(png).decode()} for png in outputs]})


def test_serving_bytes_rest_and_grpc_requests(exported):
    from tensorflow_serving.apis import predict_pb2

    loaded = tf.saved_model.load(str(exported / "saved_model" / "mdsrgan" / "1"))
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, size, dtype=np.uint8) for size in ((19, 27, 3), (12, 8, 3))]  # sizes differ
    files = [_png(images[0]), _jpeg(images[1])]
    decoded = [images[0], tf.io.decode_jpeg(files[1], channels=3).numpy()]  # the pixels the server sees

    def expected(pixels):
        return loaded.signatures["serving_default"](lr=tf.constant(pixels[None]))["sr"].numpy()[0]

    # REST: a client's JSON with {"b64": ...}, decoded as TF Serving's REST layer decodes it.
    body = json.dumps(
        {
            "signature_name": "serving_bytes",
            "instances": [{"lr_bytes": {"b64": base64.b64encode(f).decode()}} for f in files],
        }
    )
    signature = loaded.signatures[json.loads(body)["signature_name"]]
    response = json.loads(_rest_layer(body, signature))
    for prediction, pixels in zip(response["predictions"], decoded):
        sr = np.asarray(Image.open(io.BytesIO(base64.b64decode(prediction["b64"]))))
        assert sr.shape == (pixels.shape[0] * SCALE, pixels.shape[1] * SCALE, 3)
        assert np.abs(sr.astype(int) - expected(pixels)).max() <= 1

    # gRPC: a PredictRequest with a string tensor, over the wire and back.
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mdsrgan"
    request.model_spec.signature_name = "serving_bytes"
    request.inputs["lr_bytes"].CopyFrom(tf.make_tensor_proto(files))
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    signature = loaded.signatures[request.model_spec.signature_name]
    outputs = signature(lr_bytes=tf.constant(tf.make_ndarray(request.inputs["lr_bytes"])))
    reply = tf.make_ndarray(tf.make_tensor_proto(outputs["sr_bytes"].numpy()))
    for png, pixels in zip(reply, decoded):
        assert np.abs(np.asarray(Image.open(io.BytesIO(png))).astype(int) - expected(pixels)).max() <= 1

    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        signature(lr_bytes=tf.constant([files[0], b"not an image"]))


def test_model_card_from_the_run(exported, run_dir):
    text = (exported / "MODEL_CARD.md").read_text()
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "other" and meta["pipeline_tag"] == "image-to-image" and "onnx" in meta["tags"]
    (result,) = meta["model-index"][0]["results"]
    assert meta["model-index"][0]["name"] == f"mdsrgan-x{SCALE}-pair0" and result["dataset"]["name"] == "Set5"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {"psnr": 31.625, "ssim": 0.91, "niqe": 6.5}
    assert "2 residual block(s) × 16 channels" in body
    assert "| Set5 | pair0 | 31.6250 | 0.9100 | 6.5000 | n/a |" in body
    assert "Trained without the VGG perceptual loss" in body and "chosen by its validation PSNR" in body
    assert "invents plausible texture" in body and "Against published results" not in body  # a GAN run
    assert "--perceptual_weight=0.0" in body  # the run's flags.cfg
    manifest = json.loads((exported / "manifest.json").read_text())
    for kind in exporter.FORMATS:
        scores = manifest["parity"][kind]
        assert f"| {kind} | {manifest['files'][kind]['path']} |" in body
        assert f"| {scores['psnr_vs_hr_db']:.2f} | {scores['latency_ms_median']:.1f} |" in body


def test_model_card_without_a_run(tmp_path):
    generator = build_srresnet(SCALE, filters=4, num_blocks=1)
    manifest = {
        "scale": SCALE,
        "receptive_radius_lr": 9,
        "source": {"model": "/m/g.keras"},
        "parameters": 1234,
        "files": {"onnx": {"path": "generator.onnx", "bytes": 5000}},
        "parity": {
            "images": "sample:val",
            "n_images": 1,
            "onnx": {
                "psnr_vs_keras_db": 61.0,
                "max_abs_diff_vs_keras": 1,
                "psnr_vs_hr_db": 30.0,
                "latency_ms_median": 12.0,
            },
        },
    }
    path = modelcard.write(str(tmp_path), manifest, generator, "apache-2.0")
    _, front, body = open(path).read().split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "apache-2.0" and meta["model-index"] == [{"name": f"mdsrgan-x{SCALE}", "results": []}]
    assert "Not known to the exporter" in body and "No results" in body
    assert "| onnx | generator.onnx | 0.01 MB | 61.00 | 1 | 30.00 | 12.0 |" in body


ZOO_CARD = {
    "name": "x2",
    "dtype": "float16",
    "float16_cost_db": 0.0004,
    "scores": {"Set5": {"psnr": 37.1, "ssim": 0.957, "niqe": 5.9}},
    "bicubic": {"Set5": {"psnr": 33.66, "ssim": 0.93, "niqe": 7.0}},
    "loss": {"mode": "independent", "pixel_weight": 1.0, "perceptual_weight": 0.0, "adversarial_weight": 0.001},
    "training": {
        "step": 23000,
        "steps_run": 24000,
        "validation_psnr": 33.2,
        "pretrain_steps": 24000,
        "gan_steps": 0,
        "data": ["../shared/datasets/train/T91", "flags/zoo/train_bsd200.txt"],
        "images": 281,
        "hours": 7.5,
        "machines": ["AMD EPYC, 2 cores, no GPU"],
    },
}


def test_zoo_models_export_with_their_packed_card(tmp_path, monkeypatch):
    """``--model=zoo:NAME`` exports the shipped generator; its packed card (training, scores,
    data terms) fills MODEL_CARD.md."""
    from keras_mdsrgan.model import zoo

    monkeypatch.setattr(zoo, "FOLDER", str(tmp_path / "zoo"))
    zoo.pack(build_srresnet(SCALE, filters=4, num_blocks=1), str(tmp_path / "zoo" / "x2.npz"), card=ZOO_CARD)
    path, source = exporter.choose_generator(None, None, "zoo:x2")
    assert path == "zoo:x2" and source == {"model": "zoo:x2", "zoo": ZOO_CARD}
    assert isinstance(exporter.load_generator(path), inference.KerasUpscaler)
    with pytest.raises(zoo.ZooError, match=r"^zoo:x9: no such model in the zoo \(zoo:x2\)$"):
        exporter.choose_generator(None, None, "zoo:x9")

    manifest = {
        "scale": SCALE,
        "receptive_radius_lr": 9,
        "source": source,
        "parameters": 1234,
        "files": {},
        "parity": {"images": "sample:val", "n_images": 1},
    }
    card = modelcard.write(str(tmp_path), manifest, build_srresnet(SCALE, filters=4, num_blocks=1), "other")
    _, front, body = open(card).read().split("---\n", 2)
    results = yaml.safe_load(front)["model-index"][0]
    assert results["name"] == "mdsrgan-x2" and results["results"][0]["metrics"][0]["value"] == 37.1
    assert "`zoo:x2`, a generator shipped with keras_mdsrgan" in body
    assert "the generator of step 23000 of 24000" in body and "(281 images)" in body and "7.5 h on AMD EPYC" in body
    assert "| Set5 | zoo:x2 | 37.1000 | 0.9570 | 5.9000 | n/a |" in body
    assert "| Set5 | bicubic | 33.6600 |" in body
    assert "non-commercial research" in body and "PSNR-oriented: trained by pixel loss alone" in body
    assert "invents plausible texture" not in body and "Trained without the VGG" not in body  # no GAN stage
    assert "| Set5 / Set14 | 33.66 / 30.24 | 37.00 / 32.63 | 37.53 / 33.03 | 37.10 / n/a |" in body
    assert "Not known to the exporter" not in body

    gan = {**ZOO_CARD, "training": {**ZOO_CARD["training"], "chosen_by": "niqe", "validation_niqe": 4.25}}
    zoo.pack(build_srresnet(SCALE, filters=4, num_blocks=1), str(tmp_path / "zoo" / "x2.npz"), card=gan)
    manifest["source"] = exporter.choose_generator(None, None, "zoo:x2")[1]
    card = modelcard.write(str(tmp_path), manifest, build_srresnet(SCALE, filters=4, num_blocks=1), "other")
    body = open(card).read()
    assert "the lowest NIQE on a validation split held out from the training images (4.250; its PSNR 33.20 dB)" in body
