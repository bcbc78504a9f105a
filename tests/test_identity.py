"""Issue 17: a data set's files are checked for what they are whenever they are read, not only
when downloaded. MNIST and Fashion-MNIST share file names, sizes and format, so only the
SHA-256 of each decompressed file tells them (and a file's role) apart."""
import gzip
import hashlib
import os
import re

import mlp_np
import numpy as np
import pytest

from datasets import catalog, download, idx
from datasets.base import DataError
from helpers import tiny_mnist, write_mnist
from test_cli import TINY, run
from training import weights_file


def shared(source):
    """{file name: path} of the real files of `source` (found through its variable), or skip."""
    found = idx.find_files(source)
    if found is None:
        pytest.skip(f"the real {source.title} is not here: set {source.env} (see README)")
    return found[1]


def link(folder, paths, compress=None):
    """Put the files `paths` ({name: path}) in `folder`: symlinked as they are, or decompressed
    and written plain (compress=0) or gzipped at that level (1..9)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        if compress is None:
            (folder / (name + (".gz" if path.suffix == ".gz" else ""))).symlink_to(path)
        elif compress == 0:
            (folder / name).write_bytes(idx.read_raw(path))
        else:
            (folder / f"{name}.gz").write_bytes(gzip.compress(idx.read_raw(path), compress))
    return folder


def only_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("source", [idx.MNIST, idx.FASHION_MNIST], ids=lambda s: s.title)
def test_recorded_digests_are_those_of_the_shared_files(source):
    """The constants in IdxSource, recomputed from the files, and as the shared README lists."""
    paths = shared(source)
    readme = paths["t10k-labels-idx1-ubyte"].parent / "README.md"
    for name, path in paths.items():
        digest = hashlib.sha256(idx.read_raw(path)).hexdigest()
        assert digest == source.sha256s[name], name
        if readme.is_file():
            assert re.search(rf"{name}\.gz \|.*\| {digest} \|", readme.read_text()), name
    assert len(idx.OFFICIAL) == 8                      # eight different files, no two alike


@pytest.mark.parametrize("env,asked,found,flags", [
    ("MNIST_DIR", "MNIST", "Fashion-MNIST", []),
    ("FASHION_MNIST_DIR", "Fashion-MNIST", "MNIST", ["--dataset", "fashion-mnist"]),
])
def test_a_variable_pointing_at_the_other_data_set_is_refused(env, asked, found, flags):
    """The issue's case: MNIST_DIR at Fashion-MNIST's files trained, printed MNIST, exit 0."""
    other = shared(idx.FASHION_MNIST if found == "Fashion-MNIST" else idx.MNIST)
    r = run("main_np.py", *flags, *TINY, env=dict(os.environ, **{env: str(
        other["train-images-idx3-ubyte"].parent)}))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert only_line(r.stderr) == (
        f"main_np.py: error: {other['train-images-idx3-ubyte']} is {found}'s training images, "
        f"not {asked}'s: point {env} at {asked}'s files")


def test_mnist_images_with_fashion_test_labels_are_refused_naming_the_labels(tmp_path):
    """The second case: it trained, failed at chance, and advised a lower learning rate."""
    mnist, fashion = shared(idx.MNIST), shared(idx.FASHION_MNIST)
    labels = fashion["t10k-labels-idx1-ubyte"]
    folder = link(tmp_path / "mixed", {**mnist, "t10k-labels-idx1-ubyte": labels})
    r = run("main_np.py", *TINY, "--data-dir", str(folder))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert only_line(r.stderr) == (
        f"main_np.py: error: {folder / labels.name} is Fashion-MNIST's test labels, not "
        f"MNIST's: point --data-dir at MNIST's files")


@pytest.mark.parametrize("compress", [0, 1], ids=["plain", "gzip-1"])
def test_the_official_files_are_recognised_however_compressed(tmp_path, compress):
    """A user's copy, unzipped or gzipped anew (another .gz MD5), is still MNIST: no warning."""
    paths = shared(idx.MNIST)
    folder = link(tmp_path / "copy", paths, compress)
    if compress:
        gz = folder / "t10k-labels-idx1-ubyte.gz"
        assert download.md5_of(gz) != idx.MNIST.md5s["t10k-labels-idx1-ubyte"]   # not the served .gz
    else:
        assert not list(folder.glob("*.gz"))
    ds = catalog.load("mnist", folder, allow_download=False)
    assert ds.warning == "" and ds.folder == folder
    assert np.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                               1009]


def test_a_synthetic_set_named_by_the_user_trains_with_one_warning(tmp_path):
    folder = write_mnist(tmp_path / "tiny")
    r = run("main_np.py", *TINY, "--data-dir", str(folder))
    assert r.returncode == 0, r.stderr
    assert only_line(r.stderr) == (f"warning: the files in {folder} do not match the official "
                                   f"MNIST files; using them as MNIST")
    assert "final test accuracy" in r.stdout


def test_predict_prints_the_warning_once(tmp_path):
    folder = write_mnist(tmp_path / "tiny")
    weights = tmp_path / "w.npz"
    weights_file.save_weights(weights, mlp_np.init_params((784, 8, 10)), {"dataset": "mnist"})
    r = run("predict.py", "--weights", str(weights), "--data-dir", str(folder), "--index", "3")
    assert r.returncode == 0, r.stderr
    assert only_line(r.stderr).startswith(f"warning: the files in {folder} do not match")


def test_compare_loads_twice_and_warns_once(tmp_path):
    folder = write_mnist(tmp_path / "tiny")
    r = run("compare.py", "--quick", "--no-progress", "--no-readme", "--hidden", "16",
            "--batch-size", "50", "--out", str(tmp_path / "out"), "--data-dir", str(folder))
    assert r.returncode == 0, r.stderr
    assert only_line(r.stderr).startswith(f"warning: the files in {folder} do not match")


def test_a_synthetic_set_that_is_also_broken_prints_only_its_error(tmp_path):
    """Unknown files that then fail a check: the error alone, no warning before it."""
    files = tiny_mnist()
    files["t10k-labels-idx1-ubyte"] = files["t10k-labels-idx1-ubyte"][:8] + bytes([12]) * 100
    folder = write_mnist(tmp_path / "tiny", files)
    r = run("main_np.py", *TINY, "--data-dir", str(folder))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert only_line(r.stderr) == f"main_np.py: error: {folder}: test labels hold a class id 12 > 9"


def test_a_synthetic_set_in_the_cache_folder_is_refused(tmp_path, monkeypatch):
    """Only downloads fill the cache, and they are MD5-checked: anything else there is wrong."""
    cache = write_mnist(tmp_path / "cache")
    monkeypatch.setattr(idx, "CACHE_DIR", cache)
    monkeypatch.delenv("MNIST_DIR")
    with pytest.raises(DataError) as err:
        catalog.load("mnist", allow_download=False)
    assert str(err.value) == (
        f"{cache / 'train-images-idx3-ubyte.gz'} does not match the official MNIST files and "
        f"{cache} is the cache folder, which only downloads fill: delete the file (MNIST is "
        f"downloaded again), or point MNIST_DIR or --data-dir at the folder to use it as MNIST")
    monkeypatch.setenv("MNIST_DIR", str(cache))           # named by the user: used, with a warning
    assert catalog.load("mnist", allow_download=False).warning.startswith("warning: the files in")


def test_fashion_files_in_mnist_cache_folder_are_refused(tmp_path, monkeypatch):
    fashion = shared(idx.FASHION_MNIST)
    cache = link(tmp_path / "cache", fashion)
    monkeypatch.setattr(idx, "CACHE_DIR", cache)
    monkeypatch.delenv("MNIST_DIR")
    with pytest.raises(DataError) as err:
        catalog.load("mnist", allow_download=False)
    assert str(err.value) == (
        f"{cache / 'train-images-idx3-ubyte.gz'} is Fashion-MNIST's training images, not "
        f"MNIST's: delete it from the cache folder {cache} (the right file is downloaded when "
        f"missing) or point MNIST_DIR or --data-dir at MNIST's files")


def test_torchvision_fashion_folder_holding_mnist_is_refused(tmp_path):
    """DIR/FashionMNIST/raw/ is torchvision's place for Fashion-MNIST; MNIST's files in it."""
    raw = link(tmp_path / "tv" / "FashionMNIST" / "raw", shared(idx.MNIST))
    r = run("main_np.py", "--dataset", "fashion-mnist", *TINY, "--data-dir", str(tmp_path / "tv"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert only_line(r.stderr) == (
        f"main_np.py: error: {raw / 'train-images-idx3-ubyte.gz'} is MNIST's training images, "
        f"not Fashion-MNIST's: point --data-dir at Fashion-MNIST's files")


def test_an_official_file_in_another_role_is_refused(tmp_path):
    """MNIST's training labels saved as its test labels: the counts would catch it only after
    reading; the identity says what the file is."""
    paths = shared(idx.MNIST)
    swapped = dict(paths, **{"t10k-labels-idx1-ubyte": paths["train-labels-idx1-ubyte"]})
    folder = link(tmp_path / "swapped", swapped)
    with pytest.raises(DataError) as err:
        catalog.load("mnist", folder, allow_download=False)
    assert str(err.value) == (f"{folder / 't10k-labels-idx1-ubyte.gz'} is MNIST's training "
                              f"labels, not its test labels: point --data-dir at MNIST's files")


def test_one_changed_file_among_official_ones_is_named_in_the_warning(tmp_path):
    """A user's own relabelling of the test set, asked for with --data-dir: used, and said."""
    paths = shared(idx.MNIST)
    folder = link(tmp_path / "relabelled", {n: p for n, p in paths.items() if "t10k-l" not in n})
    labels = bytearray(idx.read_raw(paths["t10k-labels-idx1-ubyte"]))
    labels[8] = (labels[8] + 1) % 10
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    ds = catalog.load("mnist", folder, allow_download=False)
    assert ds.warning == (f"warning: {folder / 't10k-labels-idx1-ubyte'} does not match the "
                          f"official MNIST files; using them as MNIST")
    assert ds.head(10).warning == ds.warning
