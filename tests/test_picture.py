"""Pictures of the user's own (picture.py, predict.py --image): prepared as MNIST was made, and
labelled as well as MNIST's own test images."""
import numpy as np
import pytest
from PIL import Image

import data
import mlp_np
import picture
import train
from config import Config
from test_cli import run
from test_faults import weights  # noqa: F401  (the fixture)

MNIST = data.DATASETS["mnist"]


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
    with pytest.raises(picture.PictureError, match="blank.png: no ink found"):
        picture.prepare(tmp_path / "blank.png", MNIST)
    with pytest.raises(picture.PictureError, match="notes.png: not a readable image"):
        picture.prepare(tmp_path / "notes.png", MNIST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(picture.PictureError, match="empty: a folder with no images"):
        picture.pictures([tmp_path / "empty"])


def disguised(digit, rng):
    """An MNIST digit as a user might photograph it: blown up 3-12x, off-centre on a larger
    canvas, dark on light paper half the time, in colour or JPEG some of the time."""
    scale = int(rng.integers(3, 13))
    big = np.asarray(Image.fromarray((digit * 255).astype(np.uint8)).resize(
        (28 * scale, 28 * scale), Image.BICUBIC), np.float32) / 255
    canvas = np.zeros((int(28 * scale * rng.uniform(1.2, 2.5)),
                       int(28 * scale * rng.uniform(1.2, 2.5))), np.float32)
    top = int(rng.integers(0, canvas.shape[0] - big.shape[0] + 1))
    left = int(rng.integers(0, canvas.shape[1] - big.shape[1] + 1))
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big
    inverted = rng.random() < 0.5
    grey = 1 - canvas if inverted else canvas
    if rng.random() < 0.3:                                    # colour: tinted ink and paper
        tint = rng.uniform(0.6, 1.0, 3)
        pixels = (grey[..., None] * tint * 255).astype(np.uint8)
    else:
        pixels = (grey * 255).astype(np.uint8)
    return Image.fromarray(pixels), ".jpg" if rng.random() < 0.3 else ".png"


@pytest.fixture(scope="module")
def default_mlp(mnist):
    """The default MLP (config.py's MNIST defaults), trained by the NumPy twin in float32."""
    cfg = Config.for_run("mnist", "mlp")
    ds = data.Dataset(*(a.astype(np.float32) if a.dtype.kind == "f" else a for a in (
        mnist.x_train, mnist.y_train, mnist.x_val, mnist.y_val, mnist.x_test, mnist.y_test)),
        mnist.folder, mnist.spec)
    model = mlp_np.MLP(mlp_np.init_params(cfg.sizes(), 0, "float32"))
    train.train(mlp_np, model, ds, cfg, progress=False, log=lambda *a: None)
    return model


def test_500_disguised_test_digits_are_labelled_as_well_as_the_originals(mnist, default_mlp,
                                                                         tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(500):
        img, suffix = disguised(mnist.x_test[i].reshape(28, 28), rng)
        paths.append(tmp_path / f"{i:03d}{suffix}")
        img.save(paths[-1], quality=90) if suffix == ".jpg" else img.save(paths[-1])
    x = np.stack([picture.prepare(p, MNIST) for p in paths])
    labels = default_mlp.logits(x).argmax(1)
    originals = default_mlp.logits(mnist.x_test[:500].astype(np.float32)).argmax(1)
    accuracy = (labels == mnist.y_test[:500]).mean()
    print(f"disguised {accuracy:.3f}, originals {(originals == mnist.y_test[:500]).mean():.3f}")
    assert accuracy >= 0.97


def test_predict_labels_a_folder_and_writes_the_csv(mnist, weights, tmp_path):
    import pandas as pd
    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        img, _ = disguised(mnist.x_test[i].reshape(28, 28), rng)
        img.save(folder / f"digit{i}.png")
    r = run("predict.py", "--weights", str(weights), "--image", str(folder), "--csv",
            str(tmp_path / "labels.csv"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith(str(folder / "digit0.png") + ": NumPy ")
    table = pd.read_csv(tmp_path / "labels.csv")
    assert list(table.columns) == ["file", "numpy_label", "numpy_probability", "pytorch_label",
                                   "pytorch_probability"]
    assert len(table) == 3 and (table.numpy_label == table.pytorch_label).all()
    assert ((table.numpy_probability > 0) & (table.numpy_probability <= 1)).all()
    r = run("predict.py", "--weights", str(weights), "--image", str(folder / "digit0.png"))
    assert r.returncode == 0 and r.stdout.splitlines()[0].endswith("digit0.png")
    assert "@" in r.stdout and "PyTorch" in r.stdout                # drawn, as prepared
    r = run("predict.py", "--weights", str(weights), "--image", str(tmp_path / "nothing.png"))
    assert r.returncode == 1 and "nothing.png: no such file or folder" in r.stderr
