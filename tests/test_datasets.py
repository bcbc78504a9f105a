"""The data sets besides MNIST: Fashion-MNIST's files, the lines generator, Kaggle's CSVs."""
import gzip
import hashlib
import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from datasets import catalog, download, idx
from datasets.base import DataError
from datasets import kaggle, lines
from conftest import ROOT
from helpers import Mirror

# --- Fashion-MNIST ---------------------------------------------------------------------------


def fashion_folder():
    found = idx.find_files(idx.FASHION_MNIST)
    if found is None:
        pytest.skip("the real Fashion-MNIST is not here: set FASHION_MNIST_DIR (see README)")
    return found


def test_fashion_files_match_the_published_checksums():
    folder, paths = fashion_folder()
    readme = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    for name, path in paths.items():
        assert download.md5_of(path) == idx.FASHION_MNIST.md5s[name]      # torchvision's MD5s
        sha = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
        if readme:                                                     # the shared copy's
            assert re.search(rf"{name}\.gz \| {idx.FASHION_MNIST.md5s[name]} \| \d+ \| {sha}",
                             readme)


def test_fashion_loads_balanced_with_its_class_names(fashion):
    assert fashion.x_train.shape == (60000, 784) and fashion.x_test.shape == (10000, 784)
    assert np.array_equal(np.bincount(fashion.y_train), [6000] * 10)
    assert np.array_equal(np.bincount(fashion.y_test), [1000] * 10)
    assert fashion.spec.classes[9] == "Ankle boot" and fashion.spec.n_classes == 10
    mnist = catalog.load("mnist", allow_download=False).x_test[:100]
    assert not np.array_equal(fashion.x_test[:100], mnist)             # not MNIST by mistake


def test_fashion_downloads_from_its_own_mirror_with_its_own_md5s(tmp_path, monkeypatch):
    _, paths = fashion_folder()
    mirror = Mirror({f"{name}.gz": path.read_bytes() for name, path in paths.items()
                     if path.suffix == ".gz"})
    if len(mirror.files) < 4:
        mirror.close()
        pytest.skip("the shared Fashion-MNIST files are not gzipped as served")
    monkeypatch.setattr(idx, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv("FASHION_MNIST_DIR")
    monkeypatch.setattr(idx, "FASHION_MNIST", replace(idx.FASHION_MNIST, mirrors=(mirror.url,)))
    try:
        ds = catalog.load("fashion-mnist")
    finally:
        mirror.close()
    cache = tmp_path / "cache" / "fashion-mnist"                       # a folder of its own
    assert ds.folder == cache and sorted(p.name for p in cache.iterdir()) == sorted(mirror.files)
    assert len(mirror.requests) == 4 and np.bincount(ds.y_test).tolist() == [1000] * 10


def test_fashion_download_refuses_mnist_bytes(tmp_path, monkeypatch):
    """MNIST's files served where Fashion-MNIST's should be: every MD5 is wrong, nothing kept."""
    found = idx.find_files(idx.MNIST)
    if found is None:
        pytest.skip("the real MNIST is not here")
    mirror = Mirror({f"{n}.gz": p.read_bytes() for n, p in found[1].items()})
    try:
        with pytest.raises(DataError, match="MD5 mismatch"):
            idx.download(replace(idx.FASHION_MNIST, mirrors=(mirror.url,)), tmp_path,
                          log=lambda *a, **k: None)
    finally:
        mirror.close()
    assert list(tmp_path.iterdir()) == []


# --- lines -------------------------------------------------------------------------------------

def test_lines_are_deterministic_across_processes():
    code = ("import hashlib; from datasets import lines; x, y, xt, yt, _ = lines.generate(); "
            "print(hashlib.sha256(x.tobytes() + y.tobytes() + xt.tobytes() + yt.tobytes())"
            ".hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    x, y, xt, yt, _ = lines.generate()
    here = hashlib.sha256(x.tobytes() + y.tobytes() + xt.tobytes() + yt.tobytes()).hexdigest()
    assert here == other
    assert not np.array_equal(x[:len(xt)], xt)                       # test is its own stream


def test_lines_are_balanced_varied_and_each_one_line_of_its_class():
    ds = catalog.load("lines")
    assert ds.x_train.shape == (10000, 256) and ds.x_test.shape == (2000, 256)
    assert np.bincount(ds.y_train).tolist() == [5000, 5000]
    assert np.bincount(ds.y_test).tolist() == [1000, 1000]
    images = ds.x_train.reshape(-1, 16, 16)
    ink = images > 0.45                          # the line (>= 0.6) above the noise (sigma 0.05)
    rows, cols = ink.any(axis=2), ink.any(axis=1)                     # (N, 16) each
    thick = np.where(ds.y_train == 0, rows.sum(1), cols.sum(1))       # across the line
    length = np.where(ds.y_train == 0, cols.sum(1), rows.sum(1))      # along it
    assert set(thick) == {1, 2} and length.min() == 6 and length.max() == 16
    assert np.all(length >= thick + 3)                                # never a square blob
    first_row = rows.argmax(1)[ds.y_train == 0]
    assert len(set(first_row)) == 16                                  # every row
    assert (images * ~ink).max() < 0.45 and 0 < (images * ~ink).mean() < 0.05   # fits, noise
    assert len({h.tobytes() for h in ink}) > 3000           # of the 4,092 lines there can be


def test_lines_take_no_data_dir(tmp_path):
    with pytest.raises(DataError, match="takes no --data-dir"):
        catalog.load("lines", tmp_path)


# --- Kaggle's CSVs -----------------------------------------------------------------------------

def test_kaggle_csv_reads_back_the_images_it_was_made_from(kaggle_dir, mnist):
    ds = catalog.load("kaggle", kaggle_dir, "float64")
    assert ds.x_train.shape == (900, 784) and ds.x_test.shape == (100, 784)   # last 10% held out
    assert np.array_equal(ds.x_train, mnist.x_train[:900])
    assert np.array_equal(ds.y_test, mnist.y_train[900:1000])
    assert ds.folder == kaggle_dir
    unlabelled = kaggle.read_unlabelled(kaggle_dir)
    assert unlabelled.shape == (300, 28, 28)
    assert np.array_equal(catalog.to_float(unlabelled, "float64"), mnist.x_train[1000:1300])


def test_kaggle_held_out_part_does_not_depend_on_the_seed_or_val_size(kaggle_dir):
    a = catalog.load("kaggle", kaggle_dir, val_size=50)
    b = catalog.load("kaggle", kaggle_dir)
    assert np.array_equal(a.x_test, b.x_test) and len(a.y_train) == 850


@pytest.fixture(scope="module")
def rows(kaggle_dir):
    """(header, data rows as lists of cells) of the good train.csv, first 6 rows."""
    lines = (kaggle_dir / "train.csv").read_text().splitlines()
    return lines[0], [line.split(",") for line in lines[1:7]]


def broken(rows, kind):
    header, cells = rows[0], [list(r) for r in rows[1]]
    if kind == "no label column":
        return "\n".join([header.split(",", 1)[1]] + [",".join(r[1:]) for r in cells])
    if kind == "separator ;":
        return "\n".join([header.replace(",", ";")] + [";".join(r) for r in cells])
    if kind == "empty file":
        return ""
    if kind == "header alone":
        return header + "\n"
    if kind == "too few columns":
        cells[2] = cells[2][:400]
    if kind == "too many columns":
        cells[3] = cells[3] + ["7"]
    if kind == "every row one too many":
        cells = [r + ["7"] for r in cells]
    edits = {"text cell": (2, 301, "abc"), "pixel 300": (3, 501, "300"),
             "label 12": (1, 0, "12"), "empty cell": (2, 11, ""), "fraction": (2, 11, "3.5"),
             "negative pixel": (4, 784, "-1")}
    if kind in edits:
        row, col, value = edits[kind]
        cells[row][col] = value
    return "\n".join([header] + [",".join(r) for r in cells]) + "\n"


@pytest.mark.parametrize("kind,message", [
    ("no label column", "no label column: its header is pixel0,...,pixel783"),
    ("text cell", r"row 3 \(line 4\), column pixel300 is 'abc', not an integer"),
    ("pixel 300", r"row 4 \(line 5\), column pixel500 is 300, outside 0..255 for a pixel"),
    ("label 12", r"row 2 \(line 3\), column label is 12, outside 0..9 for a label"),
    ("negative pixel", r"row 5 \(line 6\), column pixel783 is -1, outside 0..255"),
    ("empty cell", r"row 3 \(line 4\), column pixel10 is empty"),
    ("fraction", r"row 3 \(line 4\), column pixel10 is '3.5', not an integer"),
    ("empty file", "the file is empty"),
    ("header alone", "holds the header but no rows"),
    ("separator ;", "the separator is ';', expected ','"),
    ("too few columns", r"row 3 \(line 4\) has 400 values, expected 785"),
    ("too many columns", r"row 4 \(line 5\) has 786 values, expected 785"),
    ("every row one too many", "rows have more values than its header has columns"),
])
def test_a_broken_train_csv_is_one_line_naming_file_row_and_column(tmp_path, rows, kind,
                                                                   message):
    (tmp_path / "train.csv").write_text(broken(rows, kind))
    with pytest.raises(DataError) as err:
        catalog.load("kaggle", tmp_path)
    assert str(err.value).startswith(str(tmp_path / "train.csv") + ": ")
    assert re.search(message, str(err.value)) and "\n" not in str(err.value)


def test_test_csv_with_a_label_column_is_refused(tmp_path, kaggle_dir):
    (tmp_path / "test.csv").write_text((kaggle_dir / "train.csv").read_text())
    with pytest.raises(DataError, match="the header has 785 columns, expected 784"):
        kaggle.read_unlabelled(tmp_path)


def test_missing_kaggle_files_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_DIR", raising=False)
    monkeypatch.setattr(idx, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(kaggle, "CACHE_DIR", tmp_path / "cache")
    for folder in (None, tmp_path):
        with pytest.raises(DataError) as err:
            catalog.load("kaggle", folder)
        message = str(err.value)
        assert "kaggle.com/competitions/digit-recognizer" in message
        assert str(tmp_path / "cache" / "kaggle") in message and "\n" not in message


def test_submission_text_has_kaggles_header_row_count_and_image_ids():
    text = kaggle.submission_text(np.array([3, 1, 4, 1, 5]))
    lines = text.splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 6 and text.endswith("\n")
    assert [line.split(",") for line in lines[1:]] == [["1", "3"], ["2", "1"], ["3", "4"],
                                                       ["4", "1"], ["5", "5"]]


def test_a_text_cell_deep_in_a_large_file_is_one_error_and_no_warning(tmp_path, kaggle_dir):
    """Past pandas' first parsing chunk a text cell makes a mixed column and a DtypeWarning;
    the user sees the one-line error only."""
    lines = (kaggle_dir / "train.csv").read_text().splitlines()
    cells = lines[950].split(",")
    cells[400] = "n/a?"
    lines[950] = ",".join(cells)
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    import warnings
    with warnings.catch_warnings(record=True) as caught, pytest.raises(DataError) as err:
        warnings.simplefilter("always")
        catalog.load("kaggle", tmp_path)
    assert "row 950 (line 951), column pixel399 is 'n/a?', not an integer" in str(err.value)
    assert caught == []
