"""MNIST for both twins: find, download, verify and parse the four IDX files; batch order.

Pure NumPy and the standard library (no torch), so the NumPy twin runs without PyTorch.

    x: (N, 784) float32 or float64, pixels / 255 in [0, 1]
    y: (N,)     int64 class ids 0..9

Where the files are looked for, in order: the `data_dir` argument (--data-dir), the MNIST_DIR
environment variable, then the cache folder `data/` beside this file. In each folder both the
plain layout (DIR/train-images-idx3-ubyte.gz) and torchvision's (DIR/MNIST/raw/...) are accepted,
gzip-compressed or not. Missing files are downloaded into the first of those folders.
"""
import gzip
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_DIR = Path(__file__).resolve().parent / "data"

# The two mirrors torchvision uses, tried in turn.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# name -> (MD5 of the .gz as the mirrors serve it, IDX magic number, item shape)
FILES = {
    "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 2051, (28, 28)),
    "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", 2049, ()),
    "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", 2051, (28, 28)),
    "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", 2049, ()),
}


class DataError(Exception):
    """A problem with the data files: the message names the file and what is wrong."""


@dataclass
class MNIST:
    x_train: np.ndarray  # (N_train, 784)
    y_train: np.ndarray  # (N_train,)
    x_val: np.ndarray    # (N_val, 784), N_val = val_size (0 by default)
    y_val: np.ndarray    # (N_val,)
    x_test: np.ndarray   # (10000, 784)
    y_test: np.ndarray   # (10000,)
    folder: Path         # where the files were found

    def head(self, n_train, n_test=None):
        """The first n_train training (and n_test test) images only; views, no copies."""
        return MNIST(self.x_train[:n_train], self.y_train[:n_train], self.x_val, self.y_val,
                     self.x_test[:n_test], self.y_test[:n_test], self.folder)


# --- parsing -------------------------------------------------------------------------------

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


# --- finding and downloading ---------------------------------------------------------------

def search_dirs(data_dir=None):
    """Folders searched, in order: data_dir, $MNIST_DIR, the cache folder."""
    dirs = [Path(d) for d in (data_dir, os.environ.get("MNIST_DIR")) if d]
    return dirs + [CACHE_DIR]


def _locate(folder, name):
    for sub in (folder, folder / "MNIST" / "raw"):
        for candidate in (sub / f"{name}.gz", sub / name):
            if candidate.is_file():
                return candidate
    return None


def find_files(data_dir=None):
    """The first folder holding all four files -> {name: path}, or None."""
    for folder in search_dirs(data_dir):
        paths = {name: _locate(folder, name) for name in FILES}
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


def download(folder, mirrors=None, log=print):
    """Download the four files into `folder` (MD5-checked), from `mirrors` or MIRRORS."""
    folder, mirrors = Path(folder), mirrors or MIRRORS
    folder.mkdir(parents=True, exist_ok=True)
    for name, (md5, _, _) in FILES.items():
        dest = folder / f"{name}.gz"
        if not dest.exists():
            log(f"downloading {name}.gz into {folder}", file=sys.stderr)
            download_file([m + f"{name}.gz" for m in mirrors], dest, md5)


def locate_or_download(data_dir=None, allow_download=True, mirrors=None):
    found = find_files(data_dir)
    if found is None and allow_download:
        target = search_dirs(data_dir)[0]
        try:
            download(target, mirrors)
        except (DataError, OSError) as e:
            searched = ", ".join(str(d) for d in search_dirs(data_dir))
            raise DataError(f"MNIST not found (searched {searched}) and the download failed "
                            f"({e}). Put the four files train-images-idx3-ubyte.gz, "
                            f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                            f"t10k-labels-idx1-ubyte.gz in one of those folders, or point "
                            f"--data-dir or MNIST_DIR at them")
        found = find_files(data_dir)
    if found is None:
        searched = ", ".join(str(d) for d in search_dirs(data_dir))
        raise DataError(f"MNIST not found (searched {searched})")
    return found


# --- the data set --------------------------------------------------------------------------

def load_mnist(data_dir=None, dtype="float32", val_size=0, allow_download=True):
    """The four files -> MNIST with pixels / 255 as `dtype`.

    val_size > 0 holds out the *last* val_size training images as a validation set, the same
    ones whatever the seed, so hyperparameters can be chosen without looking at the test set."""
    folder, paths = locate_or_download(data_dir, allow_download)
    arrays = {name: read_idx(paths[name], magic, shape)
              for name, (_, magic, shape) in FILES.items()}
    x_train, y_train, x_test, y_test = (
        arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"],
        arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"])
    for xs, ys, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if len(xs) != len(ys):
            raise DataError(f"{folder}: {split} images hold {len(xs)} items "
                            f"but {split} labels hold {len(ys)}")
        if ys.size and ys.max() > 9:
            raise DataError(f"{folder}: {split} labels hold a class id {ys.max()} > 9")
    if not 0 <= val_size < len(x_train):
        raise DataError(f"val_size {val_size} must be in [0, {len(x_train)})")
    n = len(x_train) - val_size
    return MNIST(to_float(x_train[:n], dtype), y_train[:n].astype(np.int64),
                 to_float(x_train[n:], dtype), y_train[n:].astype(np.int64),
                 to_float(x_test, dtype), y_test.astype(np.int64), folder)


def to_float(images, dtype="float32"):
    """uint8 (N, 28, 28) -> (N, 784) pixels / 255."""
    x = images.reshape(len(images), 784).astype(dtype)
    x /= 255
    return x


def batch_order(n, batch_size, seed, epoch):
    """The minibatches of one epoch: a list of index arrays, (batch_size,) each, the last
    possibly shorter. A pure function of (n, batch_size, seed, epoch), so both twins, in any
    process, see the same batches in the same order."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]
