"""The function behind app.py's page, called directly: a drawing, an upload or a test image in,
what the network sees and both twins' probabilities out; the models it loads; the default model
kept in the cache; app.py's one-line errors. The page in a real browser: test_app_browser.py."""
import atexit
import functools
import shutil
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import mlp_np
from conftest import real
from datasets.catalog import DATASETS
from helpers import NP
from page import answer, default, view
from page.browser import STROKES
from page.models import Model
from storage.atomic import FileError
from test_cli import run
from training import loop, models, weights_file
from training.config import Config


@functools.cache
def small_weights_file():
    """A small MLP (784-128-10, 3 epochs, a few seconds) trained on the real MNIST, once per
    test session: enough to label drawn 1s, 7s and 0s right."""
    data = real("mnist", "float32")
    cfg = Config.for_run("mnist", "mlp", hidden=(128,), epochs=3)
    model = models.build(NP, cfg, models.init_params(cfg))
    loop.train(NP, model, data, cfg, progress=False, log=lambda line: None)
    folder = tempfile.mkdtemp(prefix="app-weights-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "small-mlp.npz"
    weights_file.save_weights(path, NP.export(model), dict(cfg.to_dict(), twin="numpy",
                                                           interrupted=False))
    return path


@pytest.fixture(scope="module")
def small():
    return Model.load(small_weights_file())


def drawing(digit, side=400, width=28, flatten=False):
    """STROKES[digit] drawn as the canvas draws them: black strokes `width` wide on a
    transparent side x side sheet (RGBA), or flattened on white (RGB), as Gradio sends it."""
    sheet = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    pen = ImageDraw.Draw(sheet)
    box, left = 0.6 * side, 0.2 * side
    for stroke in STROKES[digit]:
        points = [(left + x * box, left + y * box) for x, y in stroke]
        pen.line(points, fill=(0, 0, 0, 255), width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2),
                        fill=(0, 0, 0, 255))
    if flatten:
        white = Image.new("RGBA", sheet.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, sheet).convert("RGB"))
    return np.asarray(sheet)


@pytest.mark.parametrize("digit", "170")
def test_a_drawing_gets_both_twins_answer(small, digit):
    for form in (drawing(digit), {"composite": drawing(digit, flatten=True), "layers": []}):
        got = answer.from_drawing(small, form)
        assert not got.message and got.image.shape == (28, 28)
        assert got.labels == {"NumPy": int(digit), "PyTorch": int(digit)} and got.agree
        for p in got.probs.values():
            assert p.shape == (10,) and p.sum() == pytest.approx(1) and p.max() > 0.5
        diff = np.abs(got.probs["NumPy"] - got.probs["PyTorch"]).max()
        assert got.largest_difference == pytest.approx(diff) and diff < 1e-5


def test_a_blank_canvas_asks_for_a_digit_not_a_guess(small):
    blank_rgba = np.zeros((400, 400, 4), np.uint8)                  # nothing drawn yet
    white = np.full((400, 400, 3), 255, np.uint8)
    for empty in (None, {"composite": None, "layers": []}, blank_rgba, white):
        got = answer.from_drawing(small, empty)
        assert got.message == "draw a digit" and not got.probs and got.image is None
    assert 'id="message"' in view.html_of(got) and "draw a digit" in view.html_of(got)
    assert view.enlarged(got.image) is None


def test_the_page_shows_what_the_network_sees_and_both_columns(small):
    got = answer.from_drawing(small, drawing("7"))
    page = view.html_of(got)
    assert 'id="label-numpy">7<' in page and 'id="label-pytorch">7<' in page
    assert "they agree" in page and 'id="largest-difference"' in page
    assert page.count('<tr class="class') == 10
    big = view.enlarged(got.image)
    assert big.shape == (280, 280) and big.dtype == np.uint8
    assert np.array_equal(big[::10, ::10], np.round(got.image * 255).astype(np.uint8))
    got.title = "<script>alert(1)</script>.png"                     # a file's name is shown
    assert "<script>" not in view.html_of(got)
    disagree = answer.Answer("x", got.classes, got.image,
                             {"NumPy": got.probs["NumPy"], "PyTorch": got.probs["NumPy"][::-1]})
    assert not disagree.agree and "they disagree" in view.html_of(disagree)


def test_several_people_drawing_at_once_each_get_their_own_answer(small):
    digits = list("1707010717" * 3)
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda d: answer.from_drawing(small, drawing(d)), digits))
    assert [g.labels["NumPy"] for g in got] == [int(d) for d in digits]
    assert all(g.agree for g in got)


def phone_photo(path, digit=3, size=(3000, 4000)):
    """A photo of a real MNIST test digit (the first of `digit`) as a phone takes one: a JPEG
    of size (w, h), dark ink on grey-blue paper, with noise. Returns its label."""
    mnist = real("mnist", "float32")
    index = int(np.flatnonzero(mnist.y_test == digit)[0])
    w, h = size
    side = int(0.4 * min(size)) * 2 // 2
    ink = Image.fromarray(np.round(255 * mnist.x_test[index].reshape(28, 28)).astype(np.uint8))
    ink = np.asarray(ink.resize((side, side), Image.BICUBIC), np.float32) / 255
    photo = np.full((h, w, 3), (205, 210, 220), np.float32)
    top, left = (h - side) // 2, (w - side) // 2
    photo[top:top + side, left:left + side] *= 1 - 0.8 * ink[..., None]
    photo += np.random.default_rng(0).normal(0, 6, photo.shape)
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(path, quality=90)
    return digit


def test_uploads_a_phone_photo_and_a_small_png(small, tmp_path):
    label = phone_photo(tmp_path / "IMG_0042.JPG")
    Image.fromarray(drawing("0")).save(tmp_path / "zero.png")
    for name, label in (("IMG_0042.JPG", label), ("zero.png", 0)):
        got = answer.from_upload(small, tmp_path / name)
        assert not got.message and got.title == name
        assert got.labels == {"NumPy": label, "PyTorch": label}


def test_an_upload_that_is_not_a_picture_or_too_large_gets_one_line(small, tmp_path,
                                                                     monkeypatch):
    folder = tmp_path / "gradio" / "0f3a"                   # where Gradio keeps an upload
    folder.mkdir(parents=True)
    (folder / "notes.png").write_text("not a picture")
    got = answer.from_upload(small, folder / "notes.png")
    assert got.message.startswith("notes.png: not a readable image") and str(folder) not in \
        got.message and "\n" not in got.message and not got.probs
    Image.fromarray(drawing("1")).save(folder / "big.png")
    monkeypatch.setattr(answer, "MAX_UPLOAD_BYTES", 1000)
    got = answer.from_upload(small, folder / "big.png")
    assert got.message.startswith("big.png is too large:") and "at most" in got.message
    monkeypatch.setattr(answer, "MAX_UPLOAD_BYTES", 2 ** 30)
    monkeypatch.setattr(answer, "MAX_PIXELS", 100_000)
    got = answer.from_upload(small, folder / "big.png")          # 400 x 400 = 160,000
    assert got.message == "big.png is too large: 0.2 megapixels (at most 0.1)"
    assert answer.from_upload(small, None).message.startswith("upload a picture")
    assert not list(tmp_path.glob("**/*.npz"))


def test_a_random_test_image_with_its_true_label(small):
    mnist = real("mnist", "float32")
    got = answer.from_test_image(small, index=7)
    assert got.true_label == int(mnist.y_test[7]) and got.index == 7
    assert np.allclose(got.image.reshape(-1), mnist.x_test[7])
    assert got.labels["NumPy"] == got.labels["PyTorch"] == got.true_label
    assert "true label" in view.html_of(got)
    got = answer.from_test_image(small, np.random.default_rng(1))
    assert 0 <= got.index < 10_000 and not got.message


def test_any_weights_file_of_either_twin_mlp_or_cnn_any_data_set(tmp_path):
    fashion = Config.for_run("fashion-mnist", "mlp", hidden=(16,))
    weights_file.save_weights(tmp_path / "f.npz", models.init_params(fashion),
                              dict(fashion.to_dict(), twin="torch", epochs=4))
    model = Model.load(tmp_path / "f.npz")
    assert model.spec.name == "fashion-mnist" and "trained by the PyTorch twin for 4 epochs" \
        in model.description
    got = answer.from_drawing(model, drawing("1"))
    assert got.classes[got.labels["NumPy"]] in DATASETS["fashion-mnist"].classes
    assert answer.from_drawing(model, None).message.startswith("draw one of: T-shirt/top")
    lines = Config.for_run("lines", "mlp")
    weights_file.save_weights(tmp_path / "l.npz", models.init_params(lines), lines.to_dict())
    got = answer.from_drawing(Model.load(tmp_path / "l.npz"), drawing("1"))
    assert got.image.shape == (16, 16) and set(got.probs["PyTorch"].shape) == {2}
    assert view.enlarged(got.image).shape == (272, 272)
    cnn = Config.for_run("mnist", "cnn")
    weights_file.save_weights(tmp_path / "c.npz", models.init_params(cnn), cnn.to_dict())
    model = Model.load(tmp_path / "c.npz")
    assert model.description.startswith("CNN conv") and "trained for 20 epochs" in \
        model.description
    got = answer.from_drawing(model, drawing("7"))
    assert got.agree and got.largest_difference < 1e-5


def test_a_bad_weights_file_is_a_one_line_error(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    for path, says in ((tmp_path / "junk.npz", "not a readable .npz"),
                       (tmp_path / "none.npz", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(FileError, match=says):
            Model.load(path)
    weights_file.save_weights(tmp_path / "odd.npz", mlp_np.init_params((784, 8, 10), 0),
                              {"dataset": "cifar"})
    with pytest.raises(FileError, match="'cifar', a data set this project does not know"):
        Model.load(tmp_path / "odd.npz")


def test_the_default_model_is_trained_once_kept_and_reused(tmp_path):
    cfg = Config.for_run("lines", "mlp", epochs=1)       # the same code path, in a second
    path, said = tmp_path / "cache" / "default.npz", []
    assert default.default_weights(path, cfg, log=said.append, progress=False) == path
    assert said[0].startswith("first start: training the default model") and path.is_file()
    _, saved = weights_file.load_weights(path)
    assert saved["twin"] == "numpy" and saved["epochs"] == cfg.epochs
    said.clear()
    assert default.default_weights(path, cfg, log=said.append) == path and said == []
    other = Config.for_run("lines", "mlp", epochs=cfg.epochs + 1)   # today's defaults differ
    default.default_weights(path, other, log=said.append, progress=False)
    assert said[0].endswith("trained with other settings (epochs); training the default "
                            "model again")
    path.write_text("half a file")
    said.clear()
    default.default_weights(path, cfg, log=said.append, progress=False)
    assert "unreadable" in said[0] and weights_file.load_weights(path)


def test_a_kept_model_older_than_a_setting_counts_as_trained_with_its_default(tmp_path):
    """A file written before a setting existed (here --distortion, with no key in its config)
    trained as that setting's default does: kept where the default is wanted, not otherwise."""
    cfg = Config.for_run("lines", "mlp", epochs=1)
    path = tmp_path / "default.npz"
    default.default_weights(path, cfg, log=lambda *a: None, progress=False)
    params, saved = weights_file.load_weights(path)
    del saved["distortion"]
    weights_file.save_weights(path, params, saved)
    assert default.kept_differs(path, cfg) == ""
    wanted = Config.for_run("lines", "mlp", epochs=1, augment=True, distortion="mirror")
    assert default.kept_differs(path, wanted) == "trained with other settings (augment, " \
                                                 "distortion)"


def test_a_default_model_stopped_by_ctrl_c_is_never_kept(tmp_path):
    path = tmp_path / "default.npz"
    def log(line):
        if "epoch" in line:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        default.default_weights(path, Config.for_run("lines", "mlp", epochs=2), log=log,
                                progress=False)
    assert list(tmp_path.iterdir()) == []


def test_app_errors_are_one_line_on_stderr(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    r = run("app.py", "--weights", str(tmp_path / "junk.npz"), "--port", "0")
    assert r.returncode == 2 and "--port must be in 1..65535" in r.stderr
    r = run("app.py", "--weights", str(tmp_path / "junk.npz"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("app.py: error:") and "not a readable .npz" in r.stderr
    r = run("app.py", "--colour", "red")
    assert r.returncode == 2 and "unrecognized arguments: --colour" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("app.py", "--weights", str(small_weights_file()), "--port", str(port))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"port {port} on 127.0.0.1 is in use" in r.stderr and r.stderr.count("\n") == 1
