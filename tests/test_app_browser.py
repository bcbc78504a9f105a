"""app.py's page end to end, in a real headless Chromium (Debian's `chromium`, driven by
Playwright; .ci/run installs both): the app started on a free port with small weights, digits
drawn as mouse strokes on the canvas, both twins' labels read from the page. Skipped, with the
reason, only where no browser can be had. The page as the test last saw it is saved as
$TMPDIR/app-browser-test/page.png."""
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT
from datasets.catalog import DATASETS
from page import browser
from test_app import phone_photo, small_weights_file
from training import models, weights_file
from training.config import Config

NO_BROWSER = browser.why_no_browser()
pytestmark = pytest.mark.skipif(bool(NO_BROWSER), reason=NO_BROWSER)
SCREENSHOT = Path(tempfile.gettempdir()) / "app-browser-test" / "page.png"
SEVEN_IN_TWO_STROKES = [[(0.22, 0.14), (0.78, 0.14)], [(0.78, 0.14), (0.64, 0.42), (0.42, 0.9)]]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """app.py serving the small MNIST MLP and, second in its list, a Fashion-MNIST MLP."""
    fashion = Config.for_run("fashion-mnist", "mlp", hidden=(16,))
    path = tmp_path_factory.mktemp("fashion") / "fashion.npz"
    weights_file.save_weights(path, models.init_params(fashion),
                              dict(fashion.to_dict(), twin="torch"))
    with browser.served(["--weights", str(small_weights_file()), str(path)]) as url:
        yield url


def repository_files():
    """What git sees in the checkout, ignored files included (bytecode, caches and the
    virtual environment aside: Gradio writes its hash_seed.txt into its own folder once)."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all",
                          "--", ".", ":!.venv"], cwd=ROOT, capture_output=True, text=True).stdout
    return {line for line in out.splitlines()
            if "__pycache__" not in line and ".pytest_cache" not in line}


def drawn(tab, strokes, finger=False):
    """Draw, and the page's answer to it once it has settled."""
    before = browser.read_answer(tab)
    browser.draw(tab, strokes, finger=finger)
    return browser.wait_for_answer(tab, before)


def cleared(tab):
    before = browser.read_answer(tab)
    tab.click("#clear")
    return browser.wait_for_answer(tab, before)


def uploaded(tab, path):
    before = browser.read_answer(tab)
    browser.upload(tab, path)
    return browser.wait_for_answer(tab, before)


def test_draw_a_1_a_7_and_a_0_both_twins_answer_alike_and_right(url, tmp_path):
    files = repository_files()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    start = time.monotonic()
    with browser.opened(url) as tab:
        assert browser.read_answer(tab)["message"] == "draw a digit"
        assert "MLP 784-128-10 on MNIST" in tab.inner_text("#model-description")
        for digit in "170":
            got = drawn(tab, browser.STROKES[digit])
            assert got["labels"] == {"numpy": digit, "pytorch": digit}, got
            assert got["agreement"] == "they agree" and float(got["difference"]) < 1e-4
            assert tab.locator("#seen img").count() == 1              # what the network sees
            if digit == "7":
                tab.screenshot(path=SCREENSHOT, full_page=True)
            got = cleared(tab)
            assert got["state"] == "message" and got["message"] == "draw a digit"
            assert tab.locator("#seen img").count() == 0

        bar = drawn(tab, SEVEN_IN_TWO_STROKES[:1])          # it answers stroke by stroke
        seven = drawn(tab, SEVEN_IN_TWO_STROKES[1:])
        assert seven["labels"] == {"numpy": "7", "pytorch": "7"} and seven != bar
        tab.click("#canvas button[aria-label='Undo']")       # undo takes the diagonal back
        assert browser.wait_for_answer(tab, seven)["labels"] == bar["labels"]
        cleared(tab)

        phone_photo(tmp_path / "IMG_0042.JPG", digit=3, size=(1200, 1600))
        got = uploaded(tab, tmp_path / "IMG_0042.JPG")
        assert got["labels"] == {"numpy": "3", "pytorch": "3"} and "IMG_0042.JPG" in got["source"]
        (tmp_path / "notes.png").write_text("a shopping list, not a picture")
        got = uploaded(tab, tmp_path / "notes.png")
        assert got["state"] == "message" and got["message"].startswith("notes.png: not a "
                                                                       "readable image")
        before = browser.read_answer(tab)
        tab.click("#random")
        got = browser.wait_for_answer(tab, before)
        assert "true label" in got["source"] and got["labels"]["numpy"] == got["labels"]["pytorch"]
        assert drawn(tab, browser.STROKES["1"])["labels"] == {"numpy": "1", "pytorch": "1"}
    assert repository_files() == files                       # nothing written in the checkout
    print(f"browser test: {time.monotonic() - start:.0f} s; screenshot {SCREENSHOT}")


def test_two_visitors_at_once_a_mouse_and_a_finger_each_get_their_own_answer(url):
    with browser.opened(url, ("desktop", "phone")) as (first, second):
        before = browser.read_answer(first), browser.read_answer(second)
        browser.draw(first, browser.STROKES["1"])
        browser.draw(second, browser.STROKES["0"], finger=True)       # a phone, by finger
        first_answer = browser.wait_for_answer(first, before[0])
        assert first_answer["labels"] == {"numpy": "1", "pytorch": "1"}
        assert browser.wait_for_answer(second, before[1])["labels"]["numpy"] == "0"
        browser.choose_model(first, 1)                  # the first visitor's model, only theirs
        got = browser.wait_for_answer(first, first_answer)
        assert "on Fashion-MNIST, trained by the PyTorch twin" in \
            first.inner_text("#model-description")
        assert got["labels"]["numpy"] in DATASETS["fashion-mnist"].classes
        assert got["labels"]["numpy"] == got["labels"]["pytorch"]
        cleared(second)
        seven = drawn(second, browser.STROKES["7"], finger=True)
        assert seven["labels"] == {"numpy": "7", "pytorch": "7"}
        assert "on MNIST" in second.inner_text("#model-description")
