"""A real headless Chromium on the page, as a person uses it: app.py started on a free port,
digits drawn as mouse strokes on the canvas, the twins' answer read back from the page. The
end-to-end test (tests/test_app_browser.py) and the README's screenshot (page/screenshot.py)
both drive the page through here.

The browser is Debian's `chromium` package (.ci/run installs it) driven by Playwright's Python
package; Playwright's own browser download is never used.

    with served(["--weights", "w.npz"]) as url, opened(url) as tab:
        draw(tab, STROKES["7"]); wait_for_answer(tab); read_answer(tab)
"""
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from storage.paths import ROOT

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
# Strokes of each digit, one list of points per stroke, in the canvas's unit square (x right,
# y down), shaped as people write them: a 7 in one stroke, a 0 as an oval. Few points: a
# headless Chromium without a GPU renders the canvas in software, a frame per mouse move.
OVAL = [(0.5 + 0.26 * math.sin(2 * math.pi * t / 12), 0.5 - 0.38 * math.cos(2 * math.pi * t / 12))
        for t in range(13)]
STROKES = {"1": [[(0.54, 0.1), (0.46, 0.9)]],
           "7": [[(0.22, 0.14), (0.78, 0.14), (0.64, 0.42), (0.42, 0.9)]],
           "0": [OVAL]}


def chromium():
    """The Chromium to drive ($CHROMIUM, else Debian's), or None."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


def why_no_browser():
    """Why the page cannot be driven here (one line), or "" if it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install -r requirements.txt)"
    if not chromium():
        return "no Chromium here: apt-get install chromium (as .ci/run does), or set $CHROMIUM"
    return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(args=(), timeout=300, log=None):
    """app.py with `args` on a free port of 127.0.0.1; yields its address, stops it after
    (SIGTERM, which it takes as Ctrl-C). RuntimeError with its output if it does not start within `timeout` s."""
    port = free_port()
    out = log or open(os.devnull, "w")
    process = subprocess.Popen([sys.executable, "-u", str(ROOT / "app.py"), *args, "--port",
                                str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    lines, said = [], threading.Event()
    def read():                     # all it says, as it comes (a full pipe would stop it)
        for line in process.stdout:
            lines.append(line)
            out.write(line)
            if "the page is on http://" in line:
                said.set()
        said.set()                                              # it ended
    threading.Thread(target=read, daemon=True).start()
    try:
        if not said.wait(timeout) or process.poll() is not None:
            raise RuntimeError(f"app.py did not start within {timeout} s (exit code "
                               f"{process.poll()}):\n{''.join(lines)}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# How each kind of visitor's browser looks: a desktop's window, or a phone drawn on by finger.
DEVICES = {"desktop": dict(viewport={"width": 900, "height": 800}),
           "phone": dict(viewport={"width": 412, "height": 915}, has_touch=True,
                         is_mobile=True)}


@contextmanager
def opened(url, visitors=("desktop",), width=None, height=None):
    """A headless Chromium's tab on `url`, the canvas ready with the brush picked; for several
    visitors (DEVICES' names), a list of tabs, each its own visitor (a browser context apiece).
    width, height: the window's size instead of the device's."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            tabs = []
            for device in visitors:
                options = dict(DEVICES[device])
                if width and height:
                    options["viewport"] = {"width": width, "height": height}
                tabs.append(browser.new_context(**options).new_page())
            for tab in tabs:
                tab.goto(url)
                tab.wait_for_selector("#canvas canvas", timeout=60_000)
                # the page picks the brush as it opens: the sheet's "select the draw tool" goes
                tab.wait_for_function("() => !document.querySelector('#canvas .empty')",
                                      timeout=30_000)
            yield tabs[0] if len(tabs) == 1 else tabs
        finally:
            browser.close()


def upload(tab, path):
    """Upload the file at `path` as a person does: the button, then the file chooser."""
    with tab.expect_file_chooser() as chooser:
        tab.click("#upload")
    chooser.value.set_files(str(path))


def draw(tab, strokes, size=0.6, steps=1, finger=False):
    """Draw `strokes` (STROKES' form) with the mouse, or a finger (touch events, as a phone's
    screen sends them), in the square of `size` times the canvas's shorter side at its centre
    (inside the white sheet at any zoom)."""
    sheet = tab.locator("#canvas canvas").first
    sheet.scroll_into_view_if_needed()                 # as a person scrolls to it first
    box = sheet.bounding_box()
    side = size * min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    screen = tab.context.new_cdp_session(tab) if finger else None
    def touch(kind, x=None, y=None):
        screen.send("Input.dispatchTouchEvent",
                    {"type": kind, "touchPoints": [] if x is None else [{"x": x, "y": y}]})
    for stroke in strokes:
        points = [(left + x * side, top + y * side) for x, y in stroke]
        if finger:
            touch("touchStart", *points[0])
            for point in points[1:]:
                touch("touchMove", *point)
            touch("touchEnd")
            continue
        tab.mouse.move(*points[0])
        tab.mouse.down()
        for point in points[1:]:
            tab.mouse.move(*point, steps=steps)
        tab.mouse.up()


def choose_model(tab, index):
    """Pick the index-th model of the page's list."""
    tab.click("#model input")
    tab.locator("[role=option]").nth(index).click()


def read_answer(tab):
    """What the page answers now: {"state": "answer" or "message", "message": str,
    "labels": {"numpy": label, "pytorch": label}, "agreement": str, "difference": str}."""
    return tab.evaluate("""() => {
        const a = document.querySelector('#answer');
        const text = (sel) => { const e = a && a.querySelector(sel); return e ? e.textContent : ''; };
        const labels = {};
        if (a) a.querySelectorAll('[id^=label-]').forEach(e => labels[e.id.slice(6)] = e.textContent);
        return {state: a ? a.dataset.state : '', message: text('#message'), labels: labels,
                agreement: text('#agreement'), difference: text('#largest-difference'),
                source: text('.source')};
    }""")


def wait_for_answer(tab, before=None, settle=0.5, timeout=30):
    """The answer once it differs from `before` (a read_answer) and has stayed the same for
    `settle` seconds: the page's answer to the last stroke."""
    start = time.monotonic()
    last, since = read_answer(tab), time.monotonic()
    while time.monotonic() - start < timeout:
        time.sleep(0.1)
        now = read_answer(tab)
        if now != last:
            last, since = now, time.monotonic()
        elif now != before and time.monotonic() - since >= settle:
            return now
    raise TimeoutError(f"the page's answer did not change from {before} within {timeout} s")
