"""MNIST's and Fashion-MNIST's IDX files: parsed and checked; found in the usual places, or
downloaded from the data set's mirrors and MD5-checked; each file's identity checked as it is
read (the SHA-256 of its decompressed bytes, against both data sets' official files).

Where the files are looked for: an explicit `data_dir` (--data-dir) alone, and it must hold
them; otherwise the data set's environment variable (MNIST_DIR, FASHION_MNIST_DIR), then its
cache folder (data/ for MNIST, data/fashion-mnist/). In each folder the plain layout
(DIR/train-images-idx3-ubyte.gz) and torchvision's (DIR/MNIST/raw/..., DIR/FashionMNIST/raw/...)
are accepted, gzip-compressed or not. Without an explicit folder, missing files are downloaded
into the first of the others.
"""
import gzip
import hashlib
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.base import DataError, check_folder
from datasets.download import download_file
from storage.paths import CACHE_DIR

# --- parsing ---------------------------------------------------------------------------------

# name -> (IDX magic number, item shape): the same four names for MNIST and Fashion-MNIST
FILES = {
    "train-images-idx3-ubyte": (2051, (28, 28)),
    "train-labels-idx1-ubyte": (2049, ()),
    "t10k-images-idx3-ubyte": (2051, (28, 28)),
    "t10k-labels-idx1-ubyte": (2049, ()),
}
ROLES = dict(zip(FILES, ("training images", "training labels", "test images", "test labels")))


def read_raw(path):
    """One IDX file's uncompressed bytes, whether the file is gzip-compressed or not;
    DataError naming the file if it cannot be read or decompressed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read or decompress ({e}); delete it and fetch it again")
    return raw


def read_idx(path, magic, item_shape):
    """One IDX file (gzip or plain) -> uint8 array (count, *item_shape); DataError if malformed."""
    return parse_idx(read_raw(path), magic, item_shape, name=str(path))


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


# --- finding and downloading -----------------------------------------------------------------

@dataclass(frozen=True)
class IdxSource:
    """Where one IDX data set's four files live and how to check them."""
    title: str
    env: str                 # environment variable naming a folder of the files
    cache: str               # folder under CACHE_DIR ("" for CACHE_DIR itself)
    torchvision: str         # torchvision's folder name: DIR/<torchvision>/raw/
    mirrors: tuple           # base URLs, tried in turn
    md5s: dict               # file name -> MD5 of the .gz as the mirrors serve it (downloads)
    sha256s: dict            # file name -> SHA-256 of the decompressed file: what the file is,
                             # however it was gzipped (or not); checked on every read

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
          "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"},
    sha256s=dict(zip(FILES, (                             # in FILES' order
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))))

FASHION_MNIST = IdxSource(
    "Fashion-MNIST", "FASHION_MNIST_DIR", "fashion-mnist", "FashionMNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),  # torchvision's
    md5s={"train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
          "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
          "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
          "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310"},
    sha256s=dict(zip(FILES, (                             # in FILES' order
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"))))


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


# --- identity: which official file each file is --------------------------------------------

# SHA-256 of a decompressed file -> (data set's title, file name), over both data sets: they
# share file names and sizes, so only the contents tell a file's data set and role.
OFFICIAL = {sha: (s.title, name) for s in (MNIST, FASHION_MNIST) for name, sha in s.sha256s.items()}


def named_by(source, folder, data_dir):
    """How `folder` was chosen: '--data-dir', the environment variable's name, or None for the
    cache folder (which only downloads should fill)."""
    if data_dir is not None:
        return "--data-dir"
    env = os.environ.get(source.env)
    return source.env if env and Path(env) == Path(folder) else None


def check_identity(source, folder, digests, named):
    """"" if the four files are `source`'s official ones, else a one-line warning naming those
    that match no official file, found in a folder the user named.

    digests: {file name: (path, SHA-256 of its decompressed bytes)}; named: named_by(...).
    DataError, in one line naming the file, if a file is another official file (the other data
    set's, or this one's in another role), or if an unknown file lies in the cache folder: such
    a run would train on the wrong data and report it as `source`'s."""
    own = source.title
    where = (f"point {named} at {own}'s files" if named else
             f"delete it from the cache folder {folder} (the right file is downloaded when "
             f"missing) or point {source.env} or --data-dir at {own}'s files")
    unknown = []
    for name, (path, digest) in digests.items():
        title, role = OFFICIAL.get(digest, (None, name))
        if title is None:
            unknown.append(path)
        elif title != own:
            raise DataError(f"{path} is {title}'s {ROLES[role]}, not {own}'s: {where}")
        elif role != name:
            raise DataError(f"{path} is {own}'s {ROLES[role]}, not its {ROLES[name]}: {where}")
    if unknown and named is None:
        raise DataError(f"{unknown[0]} does not match the official {own} files and {folder} is "
                        f"the cache folder, which only downloads fill: delete the file ({own} "
                        f"is downloaded again), or point {source.env} or --data-dir at the "
                        f"folder to use it as {own}")
    files = (f"the files in {folder} do" if len(unknown) == len(FILES) else
             ", ".join(map(str, unknown)) + (" does" if len(unknown) == 1 else " do"))
    return f"warning: {files} not match the official {own} files; using them as {own}" \
        if unknown else ""


def read_idx_set(source, data_dir, allow_download):
    """The four files of `source` -> (train images (N, 28, 28) uint8, train labels (N,), test
    images (M, 28, 28), test labels (M,), folder, warning): a Spec.read less its source;
    warning "" or one line for the user (check_identity). DataError: malformed or refused."""
    folder, paths = locate_or_download(source, data_dir, allow_download)
    arrays, digests = [], {}
    for name, (magic, shape) in FILES.items():
        raw = read_raw(paths[name])
        digests[name] = paths[name], hashlib.sha256(raw).hexdigest()   # ~40 ms for all four
        arrays.append(parse_idx(raw, magic, shape, name=str(paths[name])))
    warning = check_identity(source, folder, digests, named_by(source, folder, data_dir))
    return (*arrays, folder, warning)


def read_mnist(data_dir, allow_download):
    """MNIST's four arrays and folder, identity checked, warning dropped (kaggle.from_mnist)."""
    return read_idx_set(MNIST, data_dir, allow_download)[:5]
