"""The function behind the page: a drawing, an uploaded picture or a random test image in; what
the network sees (the image prepared as the data set's were made) and both twins'
probabilities out, as an Answer. No Gradio here: the page (layout.py) calls these, and so do
the tests.

    from_drawing(model, drawing)       the canvas: Gradio's Sketchpad value, or an image array
    from_upload(model, path, name)     a picture file of any size (a phone photo included)
    from_test_image(model, rng)        a random image of the data set's test set

A blank canvas, an upload that is not a picture or is too large, test images that cannot be
had: an Answer with `message` (one line) instead of probabilities. A drawing is written as a PNG
into a temporary folder, removed after, and prepared from there (datasets/picture.py).
"""
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets import picture
from datasets.base import DataError, PictureError
from datasets.catalog import DIGITS

MAX_UPLOAD_BYTES = 25 * 2 ** 20      # a phone's photo is 2-12 MB
MAX_PIXELS = 50_000_000              # a 50-megapixel photo; larger: refused before decoding
BLANK = 0.1                          # a canvas whose shades span less than this is blank


@dataclass
class Answer:
    """What the page shows for one input."""
    title: str                       # what was answered: "your drawing", a file's name, ...
    classes: tuple                   # the data set's class names
    image: np.ndarray = None         # (H, W) in [0, 1]: what the network sees
    probs: dict = field(default_factory=dict)   # {twin's name: (C,) probabilities}
    true_label: int = None           # a test image's label
    index: int = None                # a test image's index in its test set
    message: str = ""                # one line instead of an answer (a blank canvas, a bad file)

    @property
    def labels(self):
        """{twin's name: the class id it answers}."""
        return {name: int(np.argmax(p)) for name, p in self.probs.items()}

    @property
    def agree(self):
        """Whether every twin answers the same class."""
        return len(set(self.labels.values())) <= 1

    @property
    def largest_difference(self):
        """The largest difference between the twins' probabilities of any class (0 with one
        twin)."""
        probs = list(self.probs.values())
        return float(max((np.abs(p - probs[0]).max() for p in probs[1:]), default=0.0))


def prompt(spec):
    """What a blank canvas asks for: "draw a digit", or the data set's classes."""
    if spec.classes == DIGITS:
        return "draw a digit"
    return "draw one of: " + ", ".join(spec.classes)


def answered(model, x, title, true_label=None, index=None):
    """The Answer of both twins to the prepared image x (H W,)."""
    return Answer(title, model.spec.classes, x.reshape(model.spec.image_shape),
                  model.probabilities(x), true_label, index)


def from_drawing(model, drawing):
    """The canvas's drawing: Gradio's Sketchpad value ({"composite": image, ...}) or an image
    array (H, W), (H, W, 3) or (H, W, 4); dark strokes on light or transparent paper, or light
    on dark. A blank canvas (or none) gets the prompt."""
    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    title = "your drawing"
    if image is None:
        return Answer(title, model.spec.classes, message=prompt(model.spec))
    grey = grey_of(np.asarray(image))
    if grey.size == 0 or float(grey.max() - grey.min()) < BLANK:
        return Answer(title, model.spec.classes, message=prompt(model.spec))
    from PIL import Image
    with tempfile.TemporaryDirectory(prefix="app-drawing-") as folder:
        path = Path(folder) / "drawing.png"
        Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(path)
        try:
            x = picture.prepare(path, model.spec)
        except PictureError:              # nothing to see: as a blank canvas
            return Answer(title, model.spec.classes, message=prompt(model.spec))
    return answered(model, x, title)


def grey_of(image):
    """An image array -> (H, W) float32 in [0, 1] (0 black), transparency laid on white paper."""
    a = image.astype(np.float32)
    a /= 255 if image.dtype == np.uint8 else max(1.0, float(a.max(initial=0)))
    if a.ndim == 2:
        return a
    if a.shape[-1] in (2, 4):                                     # grey or colour, and alpha
        alpha = a[..., -1]
        grey = a[..., 0] if a.shape[-1] == 2 else a[..., :3] @ np.float32([0.299, 0.587, 0.114])
        return alpha * grey + (1 - alpha)
    return a[..., :3] @ np.float32([0.299, 0.587, 0.114]) if a.shape[-1] >= 3 else a[..., 0]


def from_upload(model, path, name=None):
    """The picture file at `path` (`name`: the file's name as the user knows it, for
    messages). Too large (MAX_UPLOAD_BYTES, MAX_PIXELS) or not a picture: one line."""
    if path is None:
        return Answer("", model.spec.classes, message="upload a picture (PNG, JPEG, ...)")
    path = Path(path)
    name = name or path.name
    classes = model.spec.classes
    try:
        size = os.path.getsize(path)
    except OSError as e:
        return Answer(name, classes, message=f"{name}: cannot be read ({e.strerror})")
    if size > MAX_UPLOAD_BYTES:
        return Answer(name, classes, message=f"{name} is too large: {size / 2 ** 20:.1f} MB "
                                             f"(at most {MAX_UPLOAD_BYTES // 2 ** 20} MB)")
    pixels = pixels_of(path)
    if pixels > MAX_PIXELS:
        return Answer(name, classes, message=f"{name} is too large: {pixels / 1e6:.1f} "
                                             f"megapixels (at most {MAX_PIXELS / 1e6:g})")
    try:
        x = picture.prepare(path, model.spec)
    except PictureError as e:
        return Answer(name, classes, message=str(e).replace(str(path), name))
    except Exception as e:               # anything else a strange file provokes: one line too
        return Answer(name, classes, message=f"{name}: not a picture this page can read "
                                             f"({type(e).__name__}: {e})".replace(str(path), name))
    return answered(model, x, name)


def pixels_of(path):
    """The picture's width times height read from its header (0 if Pillow cannot tell: then
    datasets/picture.py says what is wrong with it); a picture so large that Pillow refuses to
    open it counts as larger than MAX_PIXELS."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.size[0] * img.size[1]
    except Image.DecompressionBombError:
        return MAX_PIXELS + 1
    except Exception:
        return 0


# --- test images: each data set's test set read once, kept as bytes --------------------------

_test_sets, _test_lock = {}, threading.Lock()


def test_set(spec, data_dir=None):
    """(images (N, H, W) uint8, labels (N,)) of spec's test set, read on first use (MNIST
    and Fashion-MNIST downloaded if missing). DataError if they cannot be had."""
    with _test_lock:
        if spec.name not in _test_sets:
            wanted = None if spec.name == "lines" else data_dir   # lines is generated
            _, _, images, labels, _, _ = spec.read(wanted, True)
            _test_sets[spec.name] = images, labels
        return _test_sets[spec.name]


def from_test_image(model, rng=None, index=None, data_dir=None):
    """Test image `index` (default: a random one, drawn by `rng`) of the model's data set."""
    spec = model.spec
    try:
        images, labels = test_set(spec, data_dir)
    except (DataError, OSError) as e:
        return Answer("a test image", spec.classes,
                      message=f"no test images of {spec.title}: {e}")
    if index is None:
        index = int((rng or np.random.default_rng()).integers(len(labels)))
    x = images[index].reshape(-1).astype(np.float32) / 255
    return answered(model, x, f"test image {index} of {spec.title}", int(labels[index]), index)
