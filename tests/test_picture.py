"""Pictures of your own (datasets/picture.py, predict.py --image): the paper found as a phone sees it
(on a desk, under a shadow, with dirt on it, written with a fine pen, taken on its side), the
drawing placed as the data set's images were, and labelled as well as the data set's own test
images; a picture that holds no digit refused in one line. How each format and mode is read:
test_picture_reading.py; the constants measured from the data sets: test_picture_datasets.py.

The photos are made from MNIST's test digits, drawn big in dark ink on a textured sheet, with
the camera's noise, saved as JPEG at quality 85."""
import numpy as np
import pytest
from PIL import Image, ImageFilter

import mlp_np
from datasets import catalog, picture, read
from datasets.base import PictureError
from helpers import NP
from training import loop
from training.config import Config
from test_cli import run
from test_faults import weights  # noqa: F401  (the fixture)
from test_picture_reading import STORED

MNIST = catalog.DATASETS["mnist"]
FASHION = catalog.DATASETS["fashion-mnist"]


def skeleton(mask):
    """Boolean (h, w) -> its centre lines one pixel wide (Zhang and Suen's thinning)."""
    m = mask.copy()
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(m, 1)
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2],
                 p[1:-1, :-2], p[:-2, :-2]]                     # the 8 neighbours, clockwise
            count = sum(x.astype(np.uint8) for x in n)
            turns = sum((~n[i] & n[(i + 1) % 8]).astype(np.uint8) for i in range(8))
            a, b = (4, 2) if step == 0 else (6, 0)
            gone = (m & (count >= 2) & (count <= 6) & (turns == 1)
                    & ~(n[0] & n[2] & n[a]) & ~(n[b] & n[4] & n[6]))
            if gone.any():
                m &= ~gone
                changed = True
        if not changed:
            return m


def drawn(digit, side, pen=0):
    """A 28x28 digit (light on black, [0, 1]) blown up to side x side: its ink in [0, 1];
    with `pen`, redrawn along its centre lines by a pen that many pixels wide."""
    ink = np.asarray(Image.fromarray(np.round(digit * 255).astype(np.uint8)).resize(
        (side, side), Image.BICUBIC), np.float32) / 255
    if pen:
        lines = Image.fromarray(skeleton(ink > 0.5).astype(np.uint8) * 255)
        ink = np.asarray(lines.filter(ImageFilter.MaxFilter(pen)).filter(
            ImageFilter.GaussianBlur(0.7)), np.float32) / 255
    return np.where(ink < 0.03, 0, ink)                  # bicubic's ringing is no ink


def texture(shape, rng, scale, amount):
    """Smooth random shading (h, w): blotches about `scale` pixels wide, `amount` deep."""
    g = rng.normal(size=(max(2, shape[0] // scale), max(2, shape[1] // scale)))
    up = np.asarray(Image.fromarray(g.astype(np.float32)).resize(shape[::-1], Image.BICUBIC))
    return amount * up / up.std()


def photo(digit, rng, *, shape=(480, 640), side=240, sheet=None, desk=0.25, shadow=None,
          speck=False, pen=0, ink=0.12):
    """A phone's photo (h, w) in [0, 1] of `digit` drawn dark (`ink`: its reflectance, of the
    paper's) on a textured sheet of paper filling the picture, or lying at `sheet` (top, left,
    bottom, right, fractions of the picture; beyond its edges is fine) on a desk of shade
    `desk`; lit evenly, or `shadow` (towards, darkest): the light falling linearly to `darkest`
    towards "right", "down", or a soft-edged shadow over the lower right ("corner"); with a
    dark speck of dirt well away from the digit; written with a `pen` pixels wide."""
    h, w = shape
    paper = 0.9 + texture(shape, rng, 40, 0.02)
    centre = np.array([h, w]) / 2
    if sheet is not None:
        top, left, bottom, right = (np.array(sheet) * [h, w, h, w]).astype(int)
        on = np.zeros(shape, bool)
        on[max(top, 0):bottom, max(left, 0):right] = True
        paper = np.where(on, paper, desk + texture(shape, rng, 25, 0.03))
        centre = np.array([max(top, 0) + min(bottom, h), max(left, 0) + min(right, w)]) / 2
    y, x = np.clip(centre - side / 2 + rng.integers(-side // 10, side // 10 + 1, 2),
                   0, np.array(shape) - side).astype(int)
    marks = np.zeros(shape, np.float32)
    marks[y:y + side, x:x + side] = drawn(digit, side, pen)
    if speck:
        r = max(2, side // 40)
        rows, cols = np.ogrid[:h, :w]
        on_sheet = paper > 0.7
        while True:
            sy, sx = rng.integers(r, h - r), rng.integers(r, w - r)
            far = not (y - side // 3 < sy < y + side * 4 // 3
                       and x - side // 3 < sx < x + side * 4 // 3)
            if far and on_sheet[sy - r:sy + r + 1, sx - r:sx + r + 1].all():
                marks[(rows - sy) ** 2 + (cols - sx) ** 2 <= r * r] = 1
                break
    light = np.ones(shape, np.float32)
    if shadow is not None:
        towards, darkest = shadow
        rows, cols = np.mgrid[:h, :w] / np.array([h, w])[:, None, None]
        if towards == "corner":
            light = darkest + (1 - darkest) / (1 + np.exp(8 * (rows + cols - 1)))
        else:
            light = 1 - (1 - darkest) * (cols if towards == "right" else rows)
    grey = light * paper * (1 - marks * (1 - ink)) + rng.normal(0, 0.015, shape)
    return np.clip(grey, 0, 1)


def save(grey, path, orientation=1):
    """Save a photo (h, w) in [0, 1] as a phone would: JPEG at quality 85, stored turned so that
    its EXIF `orientation` shows it upright."""
    img = Image.fromarray(np.round(grey * 255).astype(np.uint8))
    exif = Image.Exif()
    if orientation != 1:
        img = img.transpose(STORED[orientation])
        exif[0x0112] = orientation
    img.save(path, quality=85, exif=exif)
    return path


def test_the_ink_is_cropped_scaled_into_20x20_and_centred_by_its_mass(tmp_path):
    grey = np.full((300, 500), 230, np.uint8)                 # light paper, off-centre ink
    grey[40:200, 300:340] = 20                                # a tall bar: 160 x 40
    Image.fromarray(grey).save(tmp_path / "bar.png")
    x = picture.prepare(tmp_path / "bar.png", MNIST).reshape(28, 28)
    rows, cols = np.nonzero(x > 0.5)
    assert 19 <= rows.max() - rows.min() + 1 <= 20             # the long side fills the box
    assert 4 <= cols.max() - cols.min() + 1 <= 6               # the aspect ratio kept (1:4)
    mass = x.sum()
    cy = (x.sum(1) * np.arange(28)).sum() / mass
    cx = (x.sum(0) * np.arange(28)).sum() / mass
    # moved by whole pixels: within half a pixel of MNIST's centre (14, 14)
    assert np.abs(np.subtract((cy, cx), MNIST.ink_centre)).max() <= 0.5 + 1e-6
    assert x.max() == pytest.approx(1, abs=0.05) and x[0].max() == 0      # ink light on black


def test_polarity_colour_and_transparency_give_the_same_drawing(tmp_path):
    ink = np.zeros((90, 60), np.float32)
    ink[10:80, 25:35] = 1
    ink[10:20, 10:50] = 1                                     # a T
    dark_on_light = (255 - 200 * ink).astype(np.uint8)
    Image.fromarray(dark_on_light).save(tmp_path / "a.png")
    Image.fromarray((200 * ink).astype(np.uint8)).save(tmp_path / "b.png")
    rgb = np.stack([255 - 200 * ink, 255 - 120 * ink, 255 - 30 * ink], -1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")             # blue ink
    rgba = np.zeros((90, 60, 4), np.uint8)
    rgba[..., 3] = (255 * ink).astype(np.uint8)               # black strokes, transparent sheet
    Image.fromarray(rgba, "RGBA").save(tmp_path / "d.png")
    drawn = [picture.prepare(tmp_path / f"{n}.png", MNIST) for n in "abcd"]
    for other in drawn[1:]:
        assert np.abs(other - drawn[0]).max() < 0.02
    assert drawn[0].sum() > 20


def test_blank_and_unreadable_pictures_are_one_line_errors(tmp_path):
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(tmp_path / "blank.png")
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(PictureError, match="blank.png: no ink found"):
        picture.prepare(tmp_path / "blank.png", MNIST)
    with pytest.raises(PictureError, match="blank.png: no item found"):
        picture.prepare(tmp_path / "blank.png", FASHION)
    with pytest.raises(PictureError, match="notes.png: not a readable image"):
        picture.prepare(tmp_path / "notes.png", MNIST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PictureError, match="empty: a folder with no images"):
        read.pictures([tmp_path / "empty"])


def disguised(digit, rng):
    """An MNIST digit as a user might send it: blown up 3-12x, off-centre on a larger canvas,
    dark on light paper half the time, in colour or JPEG some of the time; six in ten of the
    dark-on-light ones photographed (textured paper, the camera's noise, JPEG) with one of: the
    sheet on a desk, a shadow across it, a speck of dirt, a fine pen (2-4 pixels); one picture
    in seven a phone's JPEG stored on its side (EXIF orientation 2-8).
    -> (image, file ending, EXIF orientation, what was done)."""
    scale = int(rng.integers(3, 13))
    dark_on_light = rng.random() < 0.5
    photographed = dark_on_light and rng.random() < 0.6
    kind = ["desk", "shadow", "speck", "pen"][int(rng.integers(4))] if photographed else "plain"
    if kind == "pen" and scale < 6:                      # a fine pen on a big digit
        kind = "desk"
    ink = drawn(digit, 28 * scale, pen=int(rng.choice([3, 5])) if kind == "pen" else 0)
    canvas = np.zeros((int(28 * scale * rng.uniform(1.2, 2.5)),
                       int(28 * scale * rng.uniform(1.2, 2.5))), np.float32)
    top = int(rng.integers(0, canvas.shape[0] - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas.shape[1] - ink.shape[1] + 1))
    canvas[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    grey = 1 - canvas if dark_on_light else canvas
    if photographed:
        h, w = canvas.shape
        grey = (0.9 + texture((h, w), rng, 40, 0.02)) * (1 - 0.88 * canvas)
        if kind == "speck":                              # well away from the digit
            r = scale
            rows, cols = np.ogrid[:h, :w]
            for _ in range(100):
                y, x = rng.integers(r, h - r), rng.integers(r, w - r)
                if not (top - 8 * scale < y < top + 36 * scale
                        and left - 8 * scale < x < left + 36 * scale):
                    grey[(rows - y) ** 2 + (cols - x) ** 2 <= r * r] = 0.1
                    break
        elif kind == "shadow":                           # any direction, down to 45-60%
            towards = rng.normal(size=2)
            t = np.add.outer(np.arange(h) / h * towards[0], np.arange(w) / w * towards[1])
            grey *= 1 - rng.uniform(0.4, 0.55) * (t - t.min()) / np.ptp(t)
        elif kind == "desk":                             # a margin of desk around the sheet
            m = int(rng.uniform(0.1, 0.4) * min(h, w))
            desk = rng.uniform(0.15, 0.5) + texture((h + 2 * m, w + 2 * m), rng, 25, 0.03)
            desk[m:m + h, m:m + w] = grey
            grey = desk
        grey = np.clip(grey + rng.normal(0, 0.015, grey.shape), 0, 1)
    if rng.random() < 0.3:                                    # colour: tinted ink and paper
        tint = rng.uniform(0.6, 1.0, 3)
        img = Image.fromarray((grey[..., None] * tint * 255).astype(np.uint8))
    else:
        img = Image.fromarray((grey * 255).astype(np.uint8))
    orientation = int(rng.integers(2, 9)) if rng.random() < 0.15 else 1
    if orientation != 1:
        img = img.transpose(STORED[orientation])
    jpeg = photographed or orientation != 1 or rng.random() < 0.3
    return img, ".jpg" if jpeg else ".png", orientation, kind


@pytest.fixture(scope="module")
def default_mlp(mnist):
    """The default MLP (config.py's MNIST defaults), trained by the NumPy twin in float32."""
    cfg = Config.for_run("mnist", "mlp")
    ds = catalog.Dataset(*(a.astype(np.float32) if a.dtype.kind == "f" else a for a in (
        mnist.x_train, mnist.y_train, mnist.x_val, mnist.y_val, mnist.x_test, mnist.y_test)),
        mnist.folder, mnist.spec)
    model = NP.build(mlp_np.init_params(cfg.sizes(), 0, "float32"))
    loop.train(NP, model, ds, cfg, progress=False, log=lambda *a: None)
    return model


def labels(model, x):
    return NP.logits(model, np.atleast_2d(x).astype(np.float32)).argmax(1)


def test_500_disguised_test_digits_are_labelled_as_well_as_the_originals(mnist, default_mlp,
                                                                         tmp_path):
    rng = np.random.default_rng(0)
    paths, kinds, turned = [], [], 0
    for i in range(500):
        img, ending, orientation, kind = disguised(mnist.x_test[i].reshape(28, 28), rng)
        paths.append(tmp_path / f"{i:03d}{ending}")
        exif = Image.Exif()
        if orientation != 1:
            exif[0x0112] = orientation
        img.save(paths[-1], exif=exif, **({"quality": 85} if ending == ".jpg" else {}))
        kinds.append(kind)
        turned += orientation != 1
    for kind in ("desk", "shadow", "speck", "pen"):
        assert kinds.count(kind) >= 25, f"only {kinds.count(kind)} pictures of {kind}"
    assert turned >= 50
    x = np.stack([picture.prepare(p, MNIST) for p in paths])
    right = labels(default_mlp, x) == mnist.y_test[:500]
    originals = labels(default_mlp, mnist.x_test[:500]) == mnist.y_test[:500]
    print(f"disguised {right.mean():.3f}, originals {originals.mean():.3f}; photographed "
          f"{np.mean([r for r, k in zip(right, kinds) if k != 'plain']):.3f}")
    assert right.mean() >= 0.985


# The cases (a 3 on a white sheet on a dark desk was labelled 0, the sheet itself taken
# for ink; a 7 under a shadow from 100% to 45% left to right was labelled 8, the shadow taken
# for ink; a 4 stored on its side with EXIF orientation 6 was labelled 7), each beside cases of
# the same kind: MNIST's first test image of each digit, photographed so.
PHOTOS = {
    "3 on a white sheet on a dark desk": (3, dict(sheet=(0.15, 0.2, 0.85, 0.8), desk=0.2), 1),
    "5 on a sheet running off the picture, on a wooden desk":
        (5, dict(sheet=(0.1, -0.1, 1.2, 0.75), desk=0.35), 1),
    "8 on a sheet on a light desk": (8, dict(sheet=(0.1, 0.25, 0.9, 0.75), desk=0.6), 1),
    "7 in a shadow from 100% to 45% left to right": (7, dict(shadow=("right", 0.45)), 1),
    "2 in a shadow from 100% to 40% top to bottom": (2, dict(shadow=("down", 0.4)), 1),
    "9 under a soft-edged shadow over a corner": (9, dict(shadow=("corner", 0.4)), 1),
    "4 stored on its side, EXIF orientation 6": (4, {}, 6),
    "2 stored on its other side, EXIF orientation 8": (2, {}, 8),
    "5 stored upside down, EXIF orientation 3": (5, {}, 3),
    "1 with a speck of dirt beside it": (1, dict(speck=True), 1),
    "6 with a speck of dirt, on a sheet on a desk":
        (6, dict(speck=True, sheet=(0.1, 0.1, 0.9, 0.9)), 1),
    "9 written with a fine pen": (9, dict(pen=3, shape=(768, 1024), side=600), 1),
    "4 written with a fine, faint pen": (4, dict(pen=3, ink=0.5, shape=(768, 1024), side=600), 1),
}


@pytest.mark.parametrize("case", PHOTOS)
def test_a_photo_of_a_digit_on_paper_is_prepared_as_mnist_was_made(case, mnist, default_mlp,
                                                                   tmp_path):
    """Labelled as the digit; and unless a pen redrew it, drawn as MNIST's own test image is:
    within a pixel's move, on average within 0.05 of it (the nearest of fifty other digits
    lies 0.06-0.15 away)."""
    digit, conditions, orientation = PHOTOS[case]
    index = int(np.nonzero(mnist.y_test == digit)[0][0])
    original = mnist.x_test[index].astype(np.float32)
    assert labels(default_mlp, original)[0] == digit
    path = save(photo(original.reshape(28, 28), np.random.default_rng(digit), **conditions),
                tmp_path / "photo.jpg", orientation)
    x = picture.prepare(path, MNIST)
    assert labels(default_mlp, x)[0] == digit
    if not conditions.get("pen"):
        x, original = x.reshape(28, 28), original.reshape(28, 28)
        assert min(np.abs(np.roll(x, (dy, dx), (0, 1)) - original).mean()
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)) < 0.05


@pytest.mark.parametrize("case,cause", [
    ("ink covering most of the page", "the ink covers"),
    ("a digit at 5% contrast", "no ink found"),
    ("a blank sheet on a desk", "no ink found"),
    ("a blank page in a shadow", "no ink found"),
    ("a speck of dirt alone", "only a dot"),
    ("noise, no plain paper anywhere", "no plain paper found"),
])
def test_a_photo_that_holds_no_digit_is_refused_in_one_line(case, cause, mnist, tmp_path):
    rng = np.random.default_rng(0)
    blank = np.zeros((28, 28), np.float32)
    rows, cols = np.mgrid[:28, :28]
    page = ((rows - 14) / 13.5) ** 2 + ((cols - 14) / 13.5) ** 2 < 1     # a disc, filled
    grey = {
        "ink covering most of the page": lambda: photo(page.astype(np.float32), rng,
                                                       side=470, shape=(480, 520)),
        "a digit at 5% contrast": lambda: photo(mnist.x_test[1].reshape(28, 28), rng,
                                                ink=0.95),
        "a blank sheet on a desk": lambda: photo(blank, rng, sheet=(0.15, 0.2, 0.85, 0.8)),
        "a blank page in a shadow": lambda: photo(blank, rng, shadow=("right", 0.45)),
        "a speck of dirt alone": lambda: photo(blank, rng, speck=True),
        "noise, no plain paper anywhere": lambda: rng.random((64, 64)),
    }[case]()
    path = save(grey, tmp_path / "photo.jpg")
    with pytest.raises(PictureError) as caught:
        picture.prepare(path, MNIST)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and cause in message and "\n" not in message, message


def round_trip(model, images, y, spec, folder):
    """(accuracy on the test images, accuracy on them saved as 28x28 8-bit PNGs and prepared as
    pictures, the fraction prepared exactly as they were)."""
    x = []
    for i, image in enumerate(images):
        pixels = np.round(image.reshape(spec.image_shape) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:04d}.png")
        x.append(picture.prepare(folder / f"{i:04d}.png", spec))
    x = np.stack(x)
    same = (np.round(x * 255) == np.round(images * 255)).all(axis=1).mean()
    return (labels(model, images) == y).mean(), (labels(model, x) == y).mean(), same


def test_mnist_test_digits_prepared_as_pictures_score_as_the_originals(mnist, default_mlp,
                                                                      tmp_path):
    """The issue: centred at 13.5 and cropped at 30% ink, 1,000 of them scored 97.8% to the
    originals' 98.8%; placed as MNIST placed them most come back exactly."""
    before, after, same = round_trip(default_mlp, mnist.x_test[:1000].astype(np.float32),
                                     mnist.y_test[:1000], MNIST, tmp_path)
    print(f"MNIST round trip {after:.3f}, originals {before:.3f}, {same:.1%} unchanged")
    assert abs(after - before) <= 0.002 and same >= 0.8


@pytest.fixture(scope="module")
def small_fashion_mlp(fashion):
    """A small MLP on Fashion-MNIST (one hidden layer of 128, two epochs: 85% where the default
    reaches 90%, in a fifth of the time): the round trip compares the model with itself."""
    cfg = Config.for_run("fashion-mnist", "mlp", hidden=(128,), epochs=2)
    model = NP.build(mlp_np.init_params(cfg.sizes(), 0, "float32"))
    loop.train(NP, model, fashion, cfg, progress=False, log=lambda *a: None)
    return model


def test_fashion_mnist_test_items_prepared_as_pictures_score_as_the_originals(
        fashion, small_fashion_mlp, tmp_path):
    """Items on their backdrop (the border's shade), trimmed to it, the longest edge scaled to
    28 and the box centred as Zalando made them; most come back exactly."""
    before, after, same = round_trip(small_fashion_mlp, fashion.x_test[:1000],
                                     fashion.y_test[:1000], FASHION, tmp_path)
    print(f"Fashion-MNIST round trip {after:.3f}, originals {before:.3f}, {same:.1%} unchanged")
    assert abs(after - before) <= 0.002 and same >= 0.8


def test_predict_labels_a_folder_and_writes_the_csv(mnist, weights, tmp_path):
    import pandas as pd
    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        img = disguised(mnist.x_test[i].reshape(28, 28), rng)[0]
        img.save(folder / f"digit{i}.png")
    r = run("predict.py", "--weights", str(weights), "--image", str(folder), "--csv",
            str(tmp_path / "labels.csv"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith(str(folder / "digit0.png") + ": NumPy ")
    table = pd.read_csv(tmp_path / "labels.csv")
    assert list(table.columns) == ["file", "numpy_label", "numpy_probability", "pytorch_label",
                                   "pytorch_probability", "error"]
    assert len(table) == 3 and (table.numpy_label == table.pytorch_label).all()
    assert ((table.numpy_probability > 0) & (table.numpy_probability <= 1)).all()
    assert table.error.isna().all()
    # a picture that holds no digit, or is no picture, is refused on its own line; the others
    # are labelled all the same, the CSV holds every file, and the exit says one was refused
    Image.new("L", (40, 40), 255).save(folder / "blank.png")
    (folder / "notes.png").write_text("not a picture")
    r = run("predict.py", "--weights", str(weights), "--image", str(folder), "--csv",
            str(tmp_path / "labels.csv"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert sorted(r.stderr.splitlines()) == [
        f"predict.py: error: {folder / 'blank.png'}: no ink found (the picture is one shade)",
        f"predict.py: error: {folder / 'notes.png'}: not a readable image (not a format Pillow "
        f"can open)"]
    assert [line.split(":")[0] for line in r.stdout.splitlines()[:-1]] == \
        [str(folder / f"digit{i}.png") for i in range(3)]
    assert r.stdout.splitlines()[-1].endswith("5 pictures, 2 refused")
    again = pd.read_csv(tmp_path / "labels.csv")
    assert list(again.file) == [str(folder / n) for n in ("blank.png", "digit0.png", "digit1.png",
                                                          "digit2.png", "notes.png")]
    assert again.numpy_label.isna().tolist() == [True, False, False, False, True]
    assert again.error.notna().tolist() == [True, False, False, False, True]
    assert (again.dropna(subset=["numpy_label"]).numpy_label.tolist()
            == table.numpy_label.tolist())
    r = run("predict.py", "--weights", str(weights), "--image", str(folder / "digit0.png"))
    assert r.returncode == 0 and r.stdout.splitlines()[0].endswith("digit0.png")
    assert "@" in r.stdout and "PyTorch" in r.stdout                # drawn, as prepared
    r = run("predict.py", "--weights", str(weights), "--image", str(tmp_path / "nothing.png"))
    assert r.returncode == 1 and "nothing.png: no such file or folder" in r.stderr
    whole = (folder / "digit0.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[:len(whole) // 2])
    r = run("predict.py", "--weights", str(weights), "--image", str(tmp_path / "cut.png"))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "cut.png: not a readable image" in r.stderr
