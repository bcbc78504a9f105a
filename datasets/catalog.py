"""The data sets both twins train on, behind one loader; the batch order of every epoch.

    load(name, data_dir, dtype, val_size) -> Dataset, name one of DATASETS:
        mnist          the four IDX files of MNIST (datasets/idx.py finds, downloads, checks them)
        fashion-mnist  the four IDX files of Zalando's Fashion-MNIST, the same way
        kaggle         Kaggle's Digit Recognizer train.csv (datasets/kaggle.py reads it)
        lines          16x16 images of one horizontal or vertical line (datasets/lines.py)

    x: (N, H * W) float32 or float64, pixels / 255 in [0, 1], the image's rows one after another
    y: (N,)       int64 class ids 0..C-1
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from datasets.base import DataError
from datasets import idx


@dataclass(frozen=True)
class Spec:
    """What is known of a data set before it is loaded: enough to shape a network for it."""
    name: str
    title: str
    image_shape: tuple       # (H, W)
    classes: tuple           # class names, index = class id
    read: Callable = field(repr=False)
    # read(data_dir, allow_download) -> (train images (N, H, W) uint8, labels (N,),
    #                                    test images, test labels, folder or None, warning)
    # warning: "" or one line the command prints if it goes on (e.g. unofficial MNIST files)
    ink_box: int = 0         # a picture's ink is scaled into this square (picture.py); 0: the
                             # whole picture is resized to image_shape
    ink_centre: tuple = ()   # (y, x) in pixel indices where the ink's centre of mass was put,
                             # for a data set of ink drawn on paper (MNIST: (14, 14), measured
                             # from its training images); (): items photographed on a backdrop,
                             # their box centred in the field (Fashion-MNIST)

    @property
    def n_inputs(self):
        return int(np.prod(self.image_shape))

    @property
    def n_classes(self):
        return len(self.classes)


@dataclass
class Dataset:
    x_train: np.ndarray  # (N_train, H * W)
    y_train: np.ndarray  # (N_train,)
    x_val: np.ndarray    # (N_val, H * W), N_val = val_size (0 by default)
    y_val: np.ndarray    # (N_val,)
    x_test: np.ndarray   # (N_test, H * W): the test set, or the held-out part of Kaggle's
    y_test: np.ndarray   # (N_test,)
    folder: Path         # where the files were found (None for a generated set)
    spec: Spec
    warning: str = ""    # one line for stderr, e.g. the files are not the official ones; "" if
                         # none. Carried, not printed: a command prints it only if it goes on

    def head(self, n_train, n_test=None):
        """The first n_train training (and n_test test) images only; views, no copies."""
        return Dataset(self.x_train[:n_train], self.y_train[:n_train], self.x_val, self.y_val,
                       self.x_test[:n_test], self.y_test[:n_test], self.folder, self.spec,
                       self.warning)

    @property
    def source(self):
        """Where the images came from, for a run's first line."""
        return str(self.folder) if self.folder else "generated"


# --- the one loader ------------------------------------------------------------------------

def load(name="mnist", data_dir=None, dtype="float32", val_size=0, allow_download=True):
    """Data set `name` -> Dataset with pixels / 255 as `dtype`.

    val_size > 0 holds out the *last* val_size training images as a validation set, the same
    ones whatever the seed, so hyperparameters can be chosen without looking at the test set."""
    spec = DATASETS[name]
    x_train, y_train, x_test, y_test, folder, warning = spec.read(data_dir, allow_download)
    for xs, ys, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(xs) != len(ys):
            raise DataError(f"{folder}: {split} images hold {len(xs)} items "
                            f"but {split} labels hold {len(ys)}")
        if ys.size and ys.max() >= spec.n_classes:
            raise DataError(f"{folder}: {split} labels hold a class id {ys.max()} "
                            f"> {spec.n_classes - 1}")
    if not 0 <= val_size < len(x_train):
        raise DataError(f"val_size {val_size} must be in [0, {len(x_train)})")
    n = len(x_train) - val_size
    return Dataset(to_float(x_train[:n], dtype), y_train[:n].astype(np.int64),
                   to_float(x_train[n:], dtype), y_train[n:].astype(np.int64),
                   to_float(x_test, dtype), y_test.astype(np.int64), folder, spec, warning)


def to_float(images, dtype="float32"):
    """uint8 (N, H, W) -> (N, H * W) pixels / 255."""
    x = images.reshape(len(images), int(np.prod(images.shape[1:]))).astype(dtype)
    x /= 255
    return x


def batch_order(n, batch_size, seed, epoch):
    """The minibatches of one epoch: a list of index arrays, (batch_size,) each, the last
    possibly shorter. A pure function of (n, batch_size, seed, epoch), so both twins, in any
    process, see the same batches in the same order."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


# The random streams of a step beside its batch, each a pure function of (seed, epoch, step):
# both twins, in any process, resumed or not, draw the same numbers.
DROPOUT_STREAM, AUGMENT_STREAM = 1, 2


def dropout_masks(widths, batch, p, seed, epoch, step, dtype="float32"):
    """The dropout masks of one step (0-based within its epoch): one (batch, width) array per
    dropout layer, 0 for a dropped unit and 1 / (1 - p) for a kept one (inverted dropout), one
    row per image whichever twin applies it. torch's nn.Dropout draws from torch's own
    generator, which the NumPy twin cannot reproduce, so both twins take these."""
    rng = np.random.default_rng([seed, epoch, step, DROPOUT_STREAM])
    return [(rng.random((batch, width)) >= p).astype(dtype) / np.asarray(1 - p, dtype)
            for width in widths]


# --- the readers: IDX sets checked against their official files; the other sources imported
# when asked for (pandas is slow to import) -------------------------------------------------

def read_mnist(data_dir, allow_download):
    return idx.read_idx_set(idx.MNIST, data_dir, allow_download)


def read_fashion_mnist(data_dir, allow_download):
    return idx.read_idx_set(idx.FASHION_MNIST, data_dir, allow_download)


def read_kaggle(data_dir, allow_download):
    from datasets import kaggle
    return (*kaggle.read_labelled(data_dir), "")


def read_lines(data_dir, allow_download):
    if data_dir is not None:
        raise DataError("--dataset lines is generated from its seed; it takes no --data-dir")
    from datasets import lines
    return (*lines.generate(), "")


DIGITS = tuple(str(d) for d in range(10))
DATASETS = {spec.name: spec for spec in (
    Spec("mnist", "MNIST", (28, 28), DIGITS, read_mnist, ink_box=20, ink_centre=(14.0, 14.0)),
    Spec("fashion-mnist", "Fashion-MNIST", (28, 28),
         ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
          "Bag", "Ankle boot"), read_fashion_mnist, ink_box=28),    # items fill the field
    Spec("kaggle", "Kaggle Digit Recognizer", (28, 28), DIGITS, read_kaggle, ink_box=20,
         ink_centre=(14.0, 14.0)),                                 # MNIST's images
    Spec("lines", "lines", (16, 16), ("horizontal", "vertical"), read_lines),
)}
