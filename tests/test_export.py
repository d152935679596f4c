import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from keras_mdsrgan import data, inference
from keras_mdsrgan.export import exporter, tflite
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.generators import build_srresnet

SCALE = 2


@pytest.fixture(scope="module")
def trained_generator(tmp_path_factory):
    """A small x2 generator trained briefly with MSE, so quantization is tested on real weights."""
    keras.utils.set_random_seed(0)
    generator = build_srresnet(SCALE, filters=16, num_blocks=2)
    store = data.build_training_store(["sample:train"], SCALE, 48)
    generator.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    generator.fit(data.training_dataset(store, 24, 8, seed=0), steps_per_epoch=250, epochs=1, verbose=0,
                  shuffle=False)
    path = str(tmp_path_factory.mktemp("gen") / "generator.keras")
    generator.save(path)
    return path


@pytest.fixture(scope="module")
def exported(trained_generator, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = subprocess.run([sys.executable, "-m", "export", f"--model={trained_generator}", f"--out={out}",
                             "--calibration_samples=32"], cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"exported x{SCALE} generator {trained_generator} to {out}" in result.stdout
    assert all(f"  {kind} " in result.stdout for kind in exporter.FORMATS)
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
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    sigs = json.loads(result.stdout.strip().splitlines()[-1])
    assert sigs["serving_default"] == {"lr": ["uint8", [None, None, None, 3]]}
    assert sigs["serving_default:out"] == {"sr": ["uint8", [None, None, None, 3]]}
    assert sigs["serving_float"] == {"lr": ["float32", [None, None, None, 3]]}


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
    results = {"Set5": {"bicubic": {"psnr": 40.0}, "pair0": {"psnr": 31.0}, "pair1": {"psnr": 30.0}},
               "Set14": {"bicubic": {"psnr": 40.0}, "pair0": {"psnr": 27.0}, "pair1": {"psnr": 29.0}}}
    (tmp_path / "results.json").write_text(json.dumps({"results": results}))
    (tmp_path / "generator_1.keras").write_bytes(b"")
    path, source = exporter.choose_generator(str(tmp_path), None, None)
    assert path == str(tmp_path / "generator_1.keras")
    assert source["pair"] == 1 and source["chosen_by"] == "validation PSNR 29.500 dB"


def test_unknown_formats_are_refused_before_any_work():
    with pytest.raises(exporter.ExportInputError, match=r"unknown --formats \['onnx'\]"):
        exporter.ExportOptions(formats=("saved_model", "onnx"))
    assert exporter.FORMATS == ("saved_model", *tflite.FORMATS)


def test_unreadable_generator_is_a_user_error(tmp_path):
    (tmp_path / "broken.keras").write_text("not a model")
    with pytest.raises(UserError, match="broken.keras: cannot load a Keras model"):
        exporter.export_generator(str(tmp_path / "broken.keras"), {}, str(tmp_path / "out"),
                                  exporter.ExportOptions())
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "export", f"--model={tmp_path / 'x.keras'}", f"--out={tmp_path}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'x.keras'}: no such file"
