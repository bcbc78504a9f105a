"""The data sets both twins train on, behind one loader; the batch order of every epoch.

Pure NumPy and the standard library (no torch), so the NumPy twin runs without PyTorch.

    load(name, data_dir, dtype, val_size) -> Dataset, name one of DATASETS:
        mnist          the four IDX files of MNIST (found, downloaded, MD5-checked here)
        fashion-mnist  the four IDX files of Zalando's Fashion-MNIST, the same way
        kaggle         Kaggle's Digit Recognizer train.csv (data_kaggle.py reads it)
        lines          16x16 images of one horizontal or vertical line (data_lines.py makes them)

    x: (N, H * W) float32 or float64, pixels / 255 in [0, 1], the image's rows one after another
    y: (N,)       int64 class ids 0..C-1

Where the IDX files are looked for: an explicit `data_dir` (--data-dir) alone, and it must hold
them; otherwise the data set's environment variable (MNIST_DIR, FASHION_MNIST_DIR), then its
cache folder beside this file (data/ for MNIST, data/fashion-mnist/). In each folder the plain
layout (DIR/train-images-idx3-ubyte.gz) and torchvision's (DIR/MNIST/raw/...,
DIR/FashionMNIST/raw/...) are accepted, gzip-compressed or not. Without an explicit folder,
missing files are downloaded into the first of the others.
"""
import gzip
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

CACHE_DIR = Path(__file__).resolve().parent / "data"


class DataError(Exception):
    """A problem with the data files: the message names the file and what is wrong."""


@dataclass(frozen=True)
class Spec:
    """What is known of a data set before it is loaded: enough to shape a network for it."""
    name: str
    title: str
    image_shape: tuple       # (H, W)
    classes: tuple           # class names, index = class id
    read: Callable = field(repr=False)
    # read(data_dir, allow_download) -> (train images (N, H, W) uint8, labels (N,),
    #                                    test images, test labels, folder or None)
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

    def head(self, n_train, n_test=None):
        """The first n_train training (and n_test test) images only; views, no copies."""
        return Dataset(self.x_train[:n_train], self.y_train[:n_train], self.x_val, self.y_val,
                       self.x_test[:n_test], self.y_test[:n_test], self.folder, self.spec)

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
    x_train, y_train, x_test, y_test, folder = spec.read(data_dir, allow_download)
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
                   to_float(x_test, dtype), y_test.astype(np.int64), folder, spec)


def load_mnist(data_dir=None, dtype="float32", val_size=0, allow_download=True):
    return load("mnist", data_dir, dtype, val_size, allow_download)


def to_float(images, dtype="float32"):
    """uint8 (N, H, W) -> (N, H * W) pixels / 255."""
    x = images.reshape(len(images), int(np.prod(images.shape[1:]))).astype(dtype)
    x /= 255
    return x


def check_folder(data_dir):
    """DataError unless an explicit --data-dir (None: not given) is a folder."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"--data-dir {data_dir} is not a folder")


def batch_order(n, batch_size, seed, epoch):
    """The minibatches of one epoch: a list of index arrays, (batch_size,) each, the last
    possibly shorter. A pure function of (n, batch_size, seed, epoch), so both twins, in any
    process, see the same batches in the same order."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


# --- IDX files: parsing --------------------------------------------------------------------

# name -> (IDX magic number, item shape): the same four names for MNIST and Fashion-MNIST
FILES = {
    "train-images-idx3-ubyte": (2051, (28, 28)),
    "train-labels-idx1-ubyte": (2049, ()),
    "t10k-images-idx3-ubyte": (2051, (28, 28)),
    "t10k-labels-idx1-ubyte": (2049, ()),
}


def read_idx(path, magic, item_shape):
    """One IDX file (gzip or plain) -> uint8 array (count, *item_shape); DataError if malformed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read or decompress ({e}); delete it and fetch it again")
    return parse_idx(raw, magic, item_shape, name=str(path))


def parse_idx(raw, magic, item_shape, name="IDX data"):
    """Bytes of an uncompressed IDX file -> uint8 array; checks magic number, dims and length."""
    ndim = 1 + len(item_shape)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    found = struct.unpack(">I", raw[:4])[0]
    if found != magic:
        raise DataError(f"{name}: IDX magic number is {found}, expected {magic}")
    count, *dims = struct.unpack(f">{ndim}I", raw[4:header])
    if tuple(dims) != tuple(item_shape):
        raise DataError(f"{name}: item shape is {tuple(dims)}, expected {tuple(item_shape)}")
    expected = header + count * int(np.prod(item_shape, dtype=np.int64))
    if len(raw) != expected:
        raise DataError(f"{name}: header says {count} items ({expected} bytes) "
                        f"but the file holds {len(raw)} bytes")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(count, *item_shape)


# --- IDX files: finding and downloading ----------------------------------------------------

@dataclass(frozen=True)
class IdxSource:
    """Where one IDX data set's four files live and how to check them."""
    title: str
    env: str                 # environment variable naming a folder of the files
    cache: str               # folder under CACHE_DIR ("" for CACHE_DIR itself)
    torchvision: str         # torchvision's folder name: DIR/<torchvision>/raw/
    mirrors: tuple           # base URLs, tried in turn
    md5s: dict               # file name -> MD5 of the .gz as the mirrors serve it

    def search_dirs(self, data_dir=None):
        """Folders searched, in order: data_dir alone if given, else $env, then the cache."""
        if data_dir is not None:
            return [Path(data_dir)]
        env = os.environ.get(self.env)
        return ([Path(env)] if env else []) + [CACHE_DIR / self.cache]


MNIST = IdxSource(
    "MNIST", "MNIST_DIR", "", "MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",    # torchvision's two, in turn
             "http://yann.lecun.com/exdb/mnist/"),
    md5s={"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
          "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
          "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
          "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"})

FASHION_MNIST = IdxSource(
    "Fashion-MNIST", "FASHION_MNIST_DIR", "fashion-mnist", "FashionMNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),  # torchvision's
    md5s={"train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
          "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
          "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
          "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310"})


def _locate(source, folder, name):
    for sub in (folder, folder / source.torchvision / "raw"):
        for candidate in (sub / f"{name}.gz", sub / name):
            if candidate.is_file():
                return candidate
    return None


def find_files(source, data_dir=None):
    """The first folder holding all four files -> (folder, {name: path}), or None."""
    for folder in source.search_dirs(data_dir):
        paths = {name: _locate(source, folder, name) for name in FILES}
        if all(paths.values()):
            return folder, paths
    return None


def md5_of(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(urls, dest, md5, tries=2, timeout=30):
    """Fetch one file to `dest`, from the first url that gives bytes with the right MD5.

    Bytes land in `dest.part`; an interrupted transfer is resumed with an HTTP Range request,
    and only a file whose MD5 matches is renamed to `dest`, so `dest` never exists half-written
    or corrupt. Raises DataError when no url gives the right bytes."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    errors = []
    for url in urls:
        for attempt in range(tries):
            try:
                _fetch(url, part, timeout)
            except (urllib.error.URLError, OSError, ValueError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
                continue                                   # retry: .part resumes
            if md5_of(part) == md5:
                os.replace(part, dest)
                return dest
            errors.append(f"{url}: MD5 mismatch")
            part.unlink()                                  # never keep bad bytes
    part.unlink(missing_ok=True)
    raise DataError(f"could not download {dest.name}: " + "; ".join(errors))


def _fetch(url, part, timeout):
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416:                                  # 416: .part is already whole
            raise
        return
    with response, open(part, "ab" if response.status == 206 else "wb") as f:
        expected = response.headers.get("Content-Length")
        written = 0
        for chunk in iter(lambda: response.read(1 << 16), b""):
            f.write(chunk)
            written += len(chunk)
    if expected is not None and written != int(expected):
        raise OSError(f"connection closed after {written} of {expected} bytes")


def download(source, folder, log=print):
    """Download the four files of `source` into `folder` (MD5-checked), from its mirrors."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, md5 in source.md5s.items():
        dest = folder / f"{name}.gz"
        if not dest.exists():
            log(f"downloading {source.title} {name}.gz into {folder}", file=sys.stderr)
            download_file([m + f"{name}.gz" for m in source.mirrors], dest, md5)


def locate_or_download(source, data_dir=None, allow_download=True):
    """(folder, {name: path}) of the four files; DataError saying where it looked and what to
    do. An explicit data_dir must hold them: it is never downloaded into or looked past."""
    check_folder(data_dir)
    found = find_files(source, data_dir)
    names = ", ".join(f"{name}.gz" for name in FILES)
    if found is None and data_dir is not None:
        missing = [f"{n}.gz" for n in FILES if _locate(source, Path(data_dir), n) is None]
        raise DataError(f"--data-dir {data_dir} holds no {source.title} files (missing "
                        f"{', '.join(missing)}; looked in it and in {source.torchvision}/raw/); "
                        f"put them there, or leave out --data-dir to use ${source.env} or to "
                        f"download into {CACHE_DIR / source.cache}")
    if found is None and allow_download:
        target = source.search_dirs()[0]
        try:
            download(source, target)
        except (DataError, OSError) as e:
            searched = ", ".join(str(d) for d in source.search_dirs())
            raise DataError(f"{source.title} not found (searched {searched}) and the download "
                            f"failed ({e}). Put the four files {names} in one of those "
                            f"folders, or point --data-dir or {source.env} at them")
        found = find_files(source)
    if found is None:
        searched = ", ".join(str(d) for d in source.search_dirs(data_dir))
        raise DataError(f"{source.title} not found (searched {searched})")
    return found


def read_idx_set(source, data_dir, allow_download):
    """The four files of `source` -> train and test arrays (a Spec.read)."""
    folder, paths = locate_or_download(source, data_dir, allow_download)
    x_train, y_train, x_test, y_test = (read_idx(paths[name], magic, shape)
                                        for name, (magic, shape) in FILES.items())
    return x_train, y_train, x_test, y_test, folder


def read_mnist(data_dir, allow_download):
    return read_idx_set(MNIST, data_dir, allow_download)


def read_fashion_mnist(data_dir, allow_download):
    return read_idx_set(FASHION_MNIST, data_dir, allow_download)


# --- the other sources, imported when asked for (pandas is slow to import) -----------------

def read_kaggle(data_dir, allow_download):
    import data_kaggle
    return data_kaggle.read_labelled(data_dir)


def read_lines(data_dir, allow_download):
    if data_dir is not None:
        raise DataError("--dataset lines is generated from its seed; it takes no --data-dir")
    import data_lines
    return data_lines.generate()


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
