"""The demo page in a real browser: headless Chromium (the Debian package) driven by Playwright.

One server for the file, started as a user starts it. Without Chromium the tests skip with the
reason; CI (MDSRGAN_REQUIRE_BROWSER=1, set by .ci/run, which installs Chromium) fails instead.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

from conftest import REPO, run_python
from keras_mdsrgan.data import imageio

MODEL = os.path.join(REPO, "keras_mdsrgan", "resources", "quickstart_srresnet_x4.keras")
MODEL_NAME = "quickstart_srresnet_x4"
MAX_PIXELS = 20000  # the server's --max_image_pixels: a 150 x 150 upload is refused
SCREENSHOT = os.path.join(REPO, "docs", "demo", "page.png")


def chromium() -> str:
    path = os.environ.get("MDSRGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    reason = None
    if not path:
        reason = "needs Chromium (apt-get install chromium, or MDSRGAN_CHROMIUM=PATH)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "needs Playwright (pip install -r requirements-dev.txt)"
    if reason:
        if os.environ.get("MDSRGAN_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo command serving the quickstart model; yields (url, its temporary root's parent)."""
    executable = chromium()
    tmp = tmp_path_factory.mktemp("demo_tmp")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keras_mdsrgan.demo",
            f"--models={MODEL}",
            f"--port={port}",
            f"--max_image_pixels={MAX_PIXELS}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    lines = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving "):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + 240
    while not ready.wait(1) and reader.is_alive() and time.time() < deadline:
        pass
    assert ready.is_set(), "".join(lines)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield {"url": f"http://127.0.0.1:{port}/", "browser": browser, "tmp": tmp, "process": process, "lines": lines}
        browser.close()
    if process.poll() is None:
        process.kill()


def open_page(server, outside: list):
    """A new page; any request that leaves 127.0.0.1 is recorded and refused (the page is offline)."""
    page = server["browser"].new_page(accept_downloads=True)

    def route(r):
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(server["url"])
    page.wait_for_selector("#run")
    return page


def choose_model(page, name: str) -> None:
    """Pick ``name`` in the model list as a visitor does: open it, type, Enter."""
    box = page.locator("#model input")
    box.click()
    box.fill(name)
    box.press("Enter")
    assert box.input_value() == name


def upscale_on(page, path: str) -> None:
    choose_model(page, MODEL_NAME)
    page.set_input_files("#upload input[type=file]", path)
    uploaded(page, path)
    page.click("#run")


def uploaded(page, path: str) -> None:
    """Wait until the upload box shows the file (its name, which the page splits at the suffix)."""
    page.wait_for_selector(f"#upload >> text={os.path.splitext(os.path.basename(path))[0]}")


def downloaded(page, tmp_path, name: str) -> np.ndarray:
    link = page.wait_for_selector("#download a", timeout=120_000)
    with page.expect_download() as info:
        link.click()
    target = str(tmp_path / name)
    info.value.save_as(target)
    return imageio.read_image(target)


def error_text(page) -> str:
    return page.wait_for_selector(".toast-body .toast-message-text", timeout=120_000).inner_text().strip()


def expected(tmp_path, source: str) -> np.ndarray:
    """What ``upscale`` writes for ``source`` with the same model (the command's own function)."""
    from keras_mdsrgan.model import inference

    target = str(tmp_path / ("cli_" + os.path.basename(source)))
    inference.upscale_file(inference.load(MODEL), source, target, 4)
    return imageio.read_image(target)


def photo(tmp_path, name: str, shape=(40, 48), seed=0) -> str:
    path = str(tmp_path / name)
    imageio.write_image(path, np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8))
    return path


def test_upload_upscale_download_offline(server, tmp_path):
    outside = []
    page = open_page(server, outside)
    source = photo(tmp_path, "photo.png")
    upscale_on(page, source)
    result = downloaded(page, tmp_path, "result.png")
    assert np.abs(result.astype(int) - expected(tmp_path, source).astype(int)).max() <= 1
    about = page.inner_text("#about")
    assert "48x40 → 192x160 in" in about and "0.17 M parameters" in about
    assert page.locator("#compare img").count() == 2 and page.locator("#zoom img").count() == 2
    assert outside == []
    page.close()


def test_a_sample_is_one_click_away_and_the_screenshot(server, tmp_path):
    page = open_page(server, [])
    page.set_viewport_size({"width": 1280, "height": 1000})
    choose_model(page, MODEL_NAME)
    page.click("text=chelsea_small.png")
    uploaded(page, "chelsea_small.png")
    page.click("#run")
    assert downloaded(page, tmp_path, "chelsea.png").shape == (300, 452, 3)  # 75 x 113 at x4
    shot = SCREENSHOT if os.environ.get("MDSRGAN_WRITE_SCREENSHOT") == "1" else str(tmp_path / "page.png")
    page.screenshot(path=shot, full_page=True)
    assert imageio.read_image(shot).shape[1] == 1280
    page.close()


def test_bad_uploads_show_the_command_lines_message_and_the_server_goes_on(server, tmp_path):
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    output = f"--output={tmp_path / 'out.png'}"
    cli = run_python("-m", "keras_mdsrgan.upscale", f"--model={MODEL}", f"--input={corrupt}", output, cwd=tmp_path)
    (cli_line,) = [line for line in cli.stderr.splitlines() if line.startswith("error: ")]
    page = open_page(server, [])
    upscale_on(page, str(corrupt))
    assert error_text(page) == cli_line.removeprefix("error: ").replace(str(tmp_path) + os.sep, "")
    page.close()

    page = open_page(server, [])
    upscale_on(page, photo(tmp_path, "huge.png", shape=(150, 150)))
    message = error_text(page)
    assert message.startswith("huge.png: 150x150 = 22500 pixels, above the limit of 20000"), message
    page.close()

    page = open_page(server, [])  # still serving
    source = photo(tmp_path, "after.png", seed=3)
    upscale_on(page, source)
    assert np.abs(downloaded(page, tmp_path, "after_sr.png").astype(int) - expected(tmp_path, source)).max() <= 1
    page.close()


def test_two_visitors_at_once_each_get_their_own_result(server, tmp_path):
    pages = [open_page(server, []) for _ in range(2)]
    sources = [photo(tmp_path, f"visitor{i}.png", shape=(64, 80), seed=10 + i) for i in range(2)]
    for page, source in zip(pages, sources):
        choose_model(page, MODEL_NAME)
        page.set_input_files("#upload input[type=file]", source)
        uploaded(page, source)
    for page in pages:  # both requests queued before either finishes
        page.click("#run")
    for i, (page, source) in enumerate(zip(pages, sources)):
        result = downloaded(page, tmp_path, f"result{i}.png")
        assert np.abs(result.astype(int) - expected(tmp_path, source).astype(int)).max() <= 1
        page.close()


def call_api(server, data: list) -> str:
    """Gradio's HTTP API, as a script would call it: the event stream's text."""
    request = urllib.request.Request(
        server["url"] + "gradio_api/call/run",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{server['url']}gradio_api/call/run/{event}", timeout=120) as response:
        return response.read().decode()


def test_the_api_reaches_no_server_path_and_no_other_model(server):
    secret = server["tmp"] / "secret.png"
    imageio.write_image(str(secret), np.zeros((8, 8, 3), np.uint8))
    stream = call_api(server, [{"path": str(secret), "meta": {"_type": "gradio.FileData"}}, MODEL_NAME, 50, 50])
    assert stream.startswith("event: error") and "secret" not in stream
    stream = call_api(server, [None, "../" + MODEL_NAME, 50, 50])
    assert stream.startswith("event: error") and "not in the list of choices" in stream


def test_ctrl_c_stops_the_server_and_removes_its_temporary_files(server):
    assert list(server["tmp"].glob("mdsrgan-demo-*"))  # uploads and results live there
    server["process"].send_signal(signal.SIGINT)
    assert server["process"].wait(60) == 130
    assert "the server stopped; its temporary files are removed" in "".join(server["lines"])
    time.sleep(0.5)
    assert not list(server["tmp"].glob("mdsrgan-demo-*"))
