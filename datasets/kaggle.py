"""Kaggle's Digit Recognizer files: read and check train.csv and test.csv; write a submission.

    train.csv   header label,pixel0,...,pixel783; 42,000 rows of a label 0-9 and 784 pixels 0-255
    test.csv    header pixel0,...,pixel783; 28,000 rows of pixels
    submission  header ImageId,Label; ImageId 1..28000 in test.csv's order

Pixels are row-major: pixel 28 i + j is row i, column j of the 28x28 image. The files need a
Kaggle account to download, so nothing here downloads: they are looked for in an explicit
--data-dir alone, else in $KAGGLE_DIR, then in data/kaggle/ (storage.paths.CACHE_DIR).

Reading is pandas' C parser with no per-cell Python; the checks run on the parsed columns, and
only a file that fails them is looked at again, to name the row and column of its first fault.
"""
import os
import re
import sys
import warnings
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.base import DataError, check_folder
from storage.paths import CACHE_DIR

ENV = "KAGGLE_DIR"
URL = "https://www.kaggle.com/competitions/digit-recognizer/data"
PIXELS = [f"pixel{i}" for i in range(784)]
HELD_OUT = 0.1          # the last tenth of train.csv's rows: the labelled images scored as test


def find(data_dir, name):
    """Path of `name` (train.csv or test.csv); DataError saying where to get it."""
    check_folder(data_dir)
    folders = [Path(data_dir)] if data_dir is not None else \
        [Path(d) for d in (os.environ.get(ENV),) if d] + [CACHE_DIR / "kaggle"]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    where = f"--data-dir {data_dir}" if data_dir is not None else \
        " or ".join(map(str, folders))
    raise DataError(f"{name} of Kaggle's Digit Recognizer is not in {where}: it needs a Kaggle "
                    f"account to download; get train.csv and test.csv from {URL} and put them "
                    f"in {CACHE_DIR / 'kaggle'} (or pass --data-dir DIR)")


def read_labelled(data_dir=None):
    """train.csv -> (train images (N, 28, 28) uint8, labels (N,), held-out images, labels,
    folder): the last HELD_OUT of the rows are held out, the same whatever the seed."""
    path = find(data_dir, "train.csv")
    images, labels = read_csv(path, labelled=True)
    n = len(labels) - int(round(HELD_OUT * len(labels)))
    return images[:n], labels[:n], images[n:], labels[n:], path.parent


def read_unlabelled(data_dir=None):
    """test.csv -> images (N, 28, 28) uint8."""
    return read_csv(find(data_dir, "test.csv"), labelled=False)[0]


def read_csv(path, labelled):
    """One Kaggle CSV -> (images (N, 28, 28) uint8, labels (N,) uint8 or None).
    DataError naming the file, and the row and column, of the first thing wrong."""
    expected = (["label"] if labelled else []) + PIXELS
    try:
        with warnings.catch_warnings():
            # index_col=False: a row longer than the header is not an index column; pandas
            # only warns when every row is, and drops the extra values: an error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)   # a text cell: see below
            frame = pd.read_csv(path, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (expected the header "
                        f"{','.join(expected[:2])},...,pixel783 and then one row per image)")
    except pd.errors.ParserWarning:
        raise DataError(f"{path}: its rows have more values than its header has columns")
    except pd.errors.ParserError as e:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if found:
            n, line, saw = map(int, found.groups())
            raise DataError(f"{path}: row {line - 1} (line {line}) has {saw} values, "
                            f"expected {n}")
        raise DataError(f"{path}: not a CSV of {len(expected)} columns ({str(e).strip()})")
    except (UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path}: cannot be read as a CSV text file ({e})")
    check_header(path, list(frame.columns), expected)
    if len(frame) == 0:
        raise DataError(f"{path}: holds the header but no rows")
    check_cells(path, frame, len(expected))
    values = frame.to_numpy()                                  # (N, 785 or 784) int64
    pixels = values[:, -784:]
    check_range(path, frame, pixels, frame.shape[1] - 784, 0, 255, "pixel")
    labels = None
    if labelled:
        labels = values[:, 0]
        check_range(path, frame, labels[:, None], 0, 0, 9, "label")
        labels = labels.astype(np.uint8)
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


def check_header(path, found, expected):
    if found == expected:
        return
    if len(found) == 1 and found[0].count(";") > 1:
        raise DataError(f"{path}: the separator is ';', expected ','")
    if expected[0] == "label" and found == PIXELS:
        raise DataError(f"{path}: no label column: its header is pixel0,...,pixel783, as "
                        f"test.csv's; the training file starts with label")
    if len(found) != len(expected):
        raise DataError(f"{path}: the header has {len(found)} columns, expected "
                        f"{len(expected)} ({expected[0]},{expected[1]},...,pixel783)")
    i = next(i for i, (a, b) in enumerate(zip(found, expected)) if a != b)
    raise DataError(f"{path}: column {i + 1} of the header is {found[i]!r}, expected "
                    f"{expected[i]!r}")


def check_cells(path, frame, n_columns):
    """Every column parsed as integers; else the first (row, column) that is not one."""
    bad_columns = [c for c in frame.columns if not pd.api.types.is_integer_dtype(frame[c])]
    if not bad_columns:
        return
    firsts = []                                # (row, column index) of each column's first
    for c in bad_columns:
        number = pd.to_numeric(frame[c], errors="coerce")
        bad = number.isna().to_numpy() | (number.to_numpy(na_value=0) % 1 != 0)
        firsts.append((int(np.argmax(bad)), frame.columns.get_loc(c)))
    row, col = min(firsts)
    name, value = frame.columns[col], frame.iat[row, col]
    where = f"row {row + 1} (line {row + 2}), column {name}"
    if pd.isna(value):
        line = next(islice(open(path, errors="replace"), row + 1, None), "")
        count = len(line.rstrip("\r\n").split(","))
        if count < n_columns:
            raise DataError(f"{path}: row {row + 1} (line {row + 2}) has {count} values, "
                            f"expected {n_columns}")
        raise DataError(f"{path}: {where} is empty")
    raise DataError(f"{path}: {where} is {str(value)!r}, not an integer")


def check_range(path, frame, values, offset, low, high, what):
    """Every entry of values (N, width), frame's columns from `offset` on, in low..high; else
    the first that is not."""
    if values.min() >= low and values.max() <= high:
        return
    row, col = divmod(int(np.argmax(((values < low) | (values > high)).ravel())),
                      values.shape[1])
    name = frame.columns[offset + col]
    raise DataError(f"{path}: row {row + 1} (line {row + 2}), column {name} is "
                    f"{values[row, col]}, outside {low}..{high} for a {what}")


# --- writing -------------------------------------------------------------------------------

def submission_text(labels):
    """labels (N,) -> the text of submission.csv: ImageId,Label with ImageId 1..N."""
    lines = [f"{i},{int(label)}" for i, label in enumerate(labels, start=1)]
    return "ImageId,Label\n" + "\n".join(lines) + "\n"


def csv_text(images, labels=None):
    """images (N, 28, 28) uint8 (and labels (N,)) -> CSV text in Kaggle's format."""
    table = images.reshape(len(images), 784)
    header = PIXELS
    if labels is not None:
        table = np.concatenate([np.asarray(labels).reshape(-1, 1), table], axis=1)
        header = ["label"] + PIXELS
    cells = np.array([str(v) for v in range(256)])[table]          # (N, 785) strings
    rows = [",".join(row) for row in cells.tolist()]
    return ",".join(header) + "\n" + "\n".join(rows) + "\n"


def from_mnist(folder, mnist_dir=None):
    """Write train.csv and test.csv into `folder`, format-identical to Kaggle's, from MNIST:
    train.csv the first 42,000 training images, test.csv the other 18,000 and the 10,000 test
    images (Kaggle's 70,000 are MNIST's, in another order). For tests and benchmarks here,
    where Kaggle's own files cannot be fetched."""
    from datasets import idx
    from storage.atomic import check_writable, write_text
    folder = Path(folder)
    try:                                   # the folder first: MNIST takes seconds to read
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("train.csv", "test.csv"):
            check_writable(folder / name)
    except OSError as e:
        raise DataError(f"cannot write into {folder}: {e.strerror}")
    x_train, y_train, x_test, _, _ = idx.read_mnist(mnist_dir, True)
    write_text(folder / "train.csv", csv_text(x_train[:42000], y_train[:42000]))
    write_text(folder / "test.csv", csv_text(np.concatenate([x_train[42000:], x_test])))
    return folder


if __name__ == "__main__":          # python -m datasets.kaggle OUT_DIR [MNIST_DIR]
    if len(sys.argv) not in (2, 3) or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m datasets.kaggle OUT_DIR [MNIST_DIR]: write Kaggle-format "
                 "train.csv and test.csv made from MNIST into OUT_DIR")
    from storage.atomic import FileError
    try:
        print(f"wrote train.csv and test.csv in {from_mnist(*sys.argv[1:])}")
    except (DataError, FileError) as e:
        sys.exit(f"datasets/kaggle.py: error: {e}")
