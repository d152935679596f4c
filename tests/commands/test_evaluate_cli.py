import csv
import json
import os
import re
import shutil
import types

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, run_python
from keras_mdsrgan.data import resize
from keras_mdsrgan.model import inference
from keras_mdsrgan.model.generators import build_srresnet


def run_cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return run_python("-m", "keras_mdsrgan.evaluate", *args, env=env, timeout=300)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:200, 0:112]
    for i in range(2):
        image = (
            128 + 50 * np.sin(x / (4.0 + i))[..., None] * np.cos(y / 6.0)[..., None] + rng.normal(0, 5, (200, 112, 3))
        )
        hr = np.clip(image, 0, 255).astype(np.uint8)
        for sub, img in (("HR", hr), ("LR", resize.degrade(hr, 2).numpy())):
            os.makedirs(root / sub, exist_ok=True)
            Image.fromarray(img).save(root / sub / f"im{i}.png")
    build_srresnet(2, filters=4, num_blocks=1).save(str(root / "tiny.keras"))
    build_srresnet(4, filters=4, num_blocks=1).save(str(root / "x4.keras"))
    os.makedirs(root / "other")
    shutil.copy(root / "tiny.keras", root / "other" / "tiny.keras")  # the same stem in another folder
    os.makedirs(root / "empty")
    return root


# Runs evaluate's main on each argument list in one process (one TensorFlow start-up for all
# cases; train's flags clash with evaluate's, so not in the test process), printing per case the
# exit status and what it wrote to stdout and stderr, as JSON lines.
CASES_SCRIPT = """
import contextlib, io, json, sys
from absl import flags
from PIL import Image
from keras_mdsrgan import evaluate
from keras_mdsrgan.data import imageio
for args in json.loads(sys.argv[1]):
    out, err, limits = io.StringIO(), io.StringIO(), (imageio._max_image_pixels, Image.MAX_IMAGE_PIXELS)
    flags.FLAGS(["evaluate", *args])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = evaluate.main(["evaluate"])
    flags.FLAGS.unparse_flags()
    imageio._max_image_pixels, Image.MAX_IMAGE_PIXELS = limits  # --max_image_pixels sets both
    print(json.dumps({"returncode": status, "stdout": out.getvalue(), "stderr": err.getvalue()}))
"""


def run_cases(cases: dict[str, list[str]]) -> dict[str, types.SimpleNamespace]:
    """{name: its returncode, stdout and stderr} of evaluate on each argument list, in one process."""
    result = run_python(
        "-c",
        CASES_SCRIPT,
        json.dumps(list(cases.values())),
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {name: types.SimpleNamespace(**output) for name, output in zip(cases, outputs, strict=True)}


ERROR_CASES = [
    (["--models={ws}/x4.keras"], "upscales by 4, not --scale=2"),
    (["--bicubic", "--datasets=E={ws}/empty"], "no image files"),
    (["--bicubic", "--datasets=Bad={ws}/HR:{ws}/HR"], "does not match HR"),
    (["--bicubic", "--datasets=Set5"], "is not NAME=HR_DIR"),
    ([], "nothing to evaluate"),
    (["--bicubic", "--max_image_pixels=1000"], "im0.png: 112x200 = 22400 pixels, above the limit of 1000"),
    (["--run_dir={ws}/empty"], "no generator_K.keras"),
    (["--bicubic", "--ma_model={ws}/missing.mat"], "download model.mat of the sr-metric release"),
]


@pytest.fixture(scope="module")
def evaluated(workspace):
    """The runs of the tests below, in one process: the contract, a Ma model, whole against tiled
    images, and ERROR_CASES (by their message)."""
    ma_model = os.path.join(REPO, "tests", "reference", "ma_test_model.mat")
    single = ["--scale=2", f"--datasets=D={workspace / 'HR'}"]
    errors = {}
    for args, message in ERROR_CASES:
        args = [a.format(ws=workspace) for a in args]
        if not any(a.startswith("--datasets") for a in args):
            args.append(f"--datasets=D={workspace / 'HR'}")
        errors[message] = ["--scale=2", f"--out={workspace / 'err'}", *args]
    return run_cases(
        {
            **errors,
            "contract": [
                "--scale=2",
                f"--datasets=Mine={workspace / 'HR'},Pairs={workspace / 'HR'}:{workspace / 'LR'}",
                f"--models={workspace / 'tiny.keras'},{workspace / 'other' / 'tiny.keras'}",
                "--bicubic",
                f"--out={workspace / 'out'}",
                "--save_images",
            ],
            "ma": [*single, "--bicubic", f"--out={workspace / 'with_ma'}", f"--ma_model={ma_model}"],
            **{
                f"tile{tile}": [
                    *single,
                    f"--models={workspace / 'tiny.keras'}",
                    f"--out={workspace}/tile{tile}",
                    f"--tile={tile}",
                ]
                for tile in (0, 24)
            },
        }
    )


def test_evaluate_writes_contract_json_csv_and_table(workspace, evaluated):
    out, result = workspace / "out", evaluated["contract"]
    tiny, other = f"{workspace.name}/tiny", "other/tiny"  # same stem: parent folders tell them apart
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads((out / "results.json").read_text())
    assert payload["scale"] == 2 and "unavailable" in payload["pi_note"] and "--ma_model" in result.stdout
    assert set(payload["results"]) == {"Mine", "Pairs"}
    for dataset in payload["results"].values():
        assert list(dataset) == ["bicubic", tiny, other]
        assert dataset[tiny]["psnr"] == dataset[other]["psnr"]  # copies of one model
        for scores in dataset.values():
            assert {"psnr", "ssim", "niqe", "pi", "n_images"} <= set(scores)
            assert scores["n_images"] == 2 and scores["pi"] is None and scores["niqe"] > 0
    # LR made on the fly and LR read from files are the same images here.
    assert payload["results"]["Mine"]["bicubic"]["psnr"] == pytest.approx(
        payload["results"]["Pairs"]["bicubic"]["psnr"]
    )
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 2 * 3 * 3 and {r["image"] for r in rows} == {"im0", "im1", "MEAN"}
    assert "| Mine |" in result.stdout and f"| dataset | bicubic | {tiny} | {other} |" in result.stdout
    assert sorted(os.listdir(out / "Mine" / "other" / "tiny")) == ["im0.png", "im1.png"]


def test_evaluate_with_a_ma_model_reports_ma_and_pi(workspace, evaluated):
    out, result = workspace / "with_ma", evaluated["ma"]
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads((out / "results.json").read_text())
    scores = payload["results"]["D"]["bicubic"]
    assert payload["pi_note"] is None and "unavailable" not in result.stdout
    for s in scores["per_image"].values():
        assert s["pi"] == pytest.approx(((10 - s["ma"]) + s["niqe"]) / 2)
    assert scores["pi"] == pytest.approx(np.mean([s["pi"] for s in scores["per_image"].values()]))
    assert f"/ {scores['pi']:.3f} |" in result.stdout
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert float(rows[-1]["ma"]) == pytest.approx(scores["ma"])


def test_tiled_evaluation_scores_like_whole_images(workspace, evaluated):
    """--tile bounds memory on large images without changing the scores."""
    scores = {}
    for tile in (0, 24):
        result = evaluated[f"tile{tile}"]
        assert result.returncode == 0, result.stderr[-3000:]
        scores[tile] = json.loads((workspace / f"tile{tile}" / "results.json").read_text())["results"]["D"]["tiny"]
    assert scores[24]["psnr"] == pytest.approx(scores[0]["psnr"], abs=0.01)
    assert scores[24]["ssim"] == pytest.approx(scores[0]["ssim"], abs=1e-4)


@pytest.mark.parametrize("case", range(len(ERROR_CASES)), ids=[m for _, m in ERROR_CASES])
def test_evaluate_errors_are_one_line(evaluated, case):
    message = ERROR_CASES[case][1]
    output = evaluated[message]
    assert output.returncode == 2
    assert output.stderr.startswith("error: ") and message in output.stderr
    assert len(output.stderr.strip().splitlines()) == 1, output.stderr


def test_cli_error_has_no_start_up_chatter(workspace):
    """The whole stderr of a failing command is its one error line (TF's C++ notices hidden)."""
    result = run_cli("--scale=2", f"--datasets=D={workspace / 'HR'}", f"--out={workspace / 'err'}")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: nothing to evaluate: give --run_dir, --models or --bicubic"


def test_models_get_distinct_names(tmp_path):
    runs = [tmp_path / run / "generator_0.keras" for run in ("runA", "runB")]
    saved = [tmp_path / export / "saved_model" / "mdsrgan" / "1" for export in ("exp1", "exp2")]
    for path in runs:
        path.parent.mkdir(parents=True)
        path.write_text("")
    for path in saved:
        path.mkdir(parents=True)
    a, b = map(str, runs)
    assert inference.label_models([a, b]) == {"runA/generator_0": a, "runB/generator_0": b}
    assert list(inference.label_models([str(p) for p in saved])) == [
        "exp1/saved_model/mdsrgan/1",
        "exp2/saved_model/mdsrgan/1",
    ]
    assert inference.label_models([a, b], ["A", "B"], taken=("bicubic", "pair0")) == {"A": a, "B": b}


@pytest.mark.parametrize(
    "models,labels,taken,message",
    [
        (["runA/g.keras", "runA/./g.keras"], None, (), "runA/./g.keras: the same model as runA/g.keras"),
        (["a/g.keras", "b/g.keras"], ["A"], (), "--model_names has 1 names for 2 models"),
        (["a/g.keras", "b/g.keras"], ["A", "A"], (), "two models are named 'A'"),
        (["x/bicubic.keras"], None, ("bicubic",), "x/bicubic.keras: its name 'bicubic' is taken"),
        (["a/g.keras"], ["pair0"], ("bicubic", "pair0"), "a/g.keras: its name 'pair0' is taken"),
    ],
)
def test_model_names_that_would_merge_results_are_refused(models, labels, taken, message):
    with pytest.raises(inference.ModelLoadError, match=re.escape(message)):
        inference.label_models(models, labels, taken)


def test_internal_errors_keep_their_traceback(workspace):
    """Only a UserError becomes a one-line message; a bug (here a ValueError) surfaces whole."""
    script = (
        "import sys; from absl import app; from keras_mdsrgan import evaluate; "
        "from keras_mdsrgan.quality import evaluation; "
        "evaluation.parse_datasets = lambda specs: int('not a user error'); "
        f"sys.argv = ['evaluate', '--scale=2', '--bicubic', '--datasets=D={workspace / 'HR'}', "
        f"'--out={workspace / 'bug'}']; app.run(evaluate.main)"
    )
    result = run_python("-c", script, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" in result.stderr and "ValueError: invalid literal" in result.stderr


def test_identical_images_give_strict_json(tmp_path):
    """PSNR = inf (SR equal to HR) and a mean of no finite value are written as null, not as
    Infinity / NaN, which strict JSON readers refuse."""
    from keras_mdsrgan import files
    from keras_mdsrgan.quality import evaluation

    hr = np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    results = evaluation.evaluate({"oracle": lambda lr: hr}, [("a", hr[::2, ::2], hr, False)], scale=2)
    assert results["oracle"]["per_image"]["a"]["psnr"] == float("inf")
    files.write_json(str(tmp_path / "results.json"), results)

    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")

    loaded = json.loads((tmp_path / "results.json").read_text(), parse_constant=refuse)
    assert loaded["oracle"]["psnr"] is None and loaded["oracle"]["per_image"]["a"]["psnr"] is None
    assert loaded["oracle"]["ssim"] == 1.0
