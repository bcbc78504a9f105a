"""The data module: IDX parsing, where files are looked for, downloading, batch order."""
import gzip
import hashlib
from dataclasses import replace

import numpy as np
import pytest

from datasets import catalog, download, idx
from datasets.base import DataError
from helpers import Mirror, idx_bytes, tiny_mnist, write_mnist


def test_parse_idx_round_trip_and_header_checks():
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    raw = idx_bytes(images, 2051)
    assert np.array_equal(idx.parse_idx(raw, 2051, (28, 28)), images)
    with pytest.raises(DataError, match="magic number is 2049, expected 2051"):
        idx.parse_idx(idx_bytes(images, 2049), 2051, (28, 28))
    with pytest.raises(DataError, match="header says 3 items"):
        idx.parse_idx(raw[:-1], 2051, (28, 28))
    with pytest.raises(DataError, match="header says 3 items"):
        idx.parse_idx(raw + b"\0", 2051, (28, 28))
    with pytest.raises(DataError, match="item shape"):
        idx.parse_idx(idx_bytes(np.zeros((2, 28, 27)), 2051), 2051, (28, 28))
    with pytest.raises(DataError, match="too short"):
        idx.parse_idx(b"\0\0", 2051, (28, 28))


def test_load_scales_pixels_and_keeps_labels(tmp_path):
    files = tiny_mnist()
    write_mnist(tmp_path, files)
    ds = catalog.load("mnist", tmp_path, "float64", val_size=100, allow_download=False)
    raw_images = np.frombuffer(files["train-images-idx3-ubyte"][16:], np.uint8).reshape(600, 784)
    raw_labels = np.frombuffer(files["train-labels-idx1-ubyte"][8:], np.uint8)
    assert ds.x_train.shape == (500, 784) and ds.x_train.dtype == np.float64
    assert ds.x_val.shape == (100, 784) and ds.x_test.shape == (100, 784)
    assert np.array_equal(ds.x_train, raw_images[:500] / 255)   # the last 100 are validation
    assert np.array_equal(ds.x_val, raw_images[500:] / 255)
    assert np.array_equal(ds.y_train, raw_labels[:500]) and ds.y_train.dtype == np.int64
    assert catalog.load("mnist", tmp_path, allow_download=False).x_train.dtype == np.float32


def test_real_mnist_shapes(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 1
    assert np.array_equal(np.bincount(mnist.y_test), [980, 1135, 1032, 1010, 982, 892, 958,
                                                      1028, 974, 1009])


def test_search_order_and_torchvision_layout(tmp_path, monkeypatch):
    a, b, cache = tmp_path / "a", tmp_path / "b", tmp_path / "cache"
    write_mnist(a, tiny_mnist(seed=1))
    write_mnist(b / "MNIST" / "raw", tiny_mnist(seed=2), compress=False)   # torchvision's
    write_mnist(cache, tiny_mnist(seed=3))
    monkeypatch.setattr(idx, "CACHE_DIR", cache)
    monkeypatch.setenv("MNIST_DIR", str(b))
    assert idx.find_files(idx.MNIST, a)[0] == a              # --data-dir, and it alone
    assert idx.find_files(idx.MNIST, tmp_path / "empty") is None
    assert idx.find_files(idx.MNIST, None)[0] == b           # else MNIST_DIR
    monkeypatch.delenv("MNIST_DIR")
    assert idx.find_files(idx.MNIST, None)[0] == cache       # then the cache
    ds = catalog.load("mnist", b, allow_download=False)
    assert ds.x_train.shape == (600, 784)


def test_counts_that_disagree_are_an_error(tmp_path):
    files = tiny_mnist()
    files["train-labels-idx1-ubyte"] = idx_bytes(np.zeros(599), 2049)
    write_mnist(tmp_path, files)
    with pytest.raises(DataError, match="train images hold 600 items but train labels hold 599"):
        catalog.load("mnist", tmp_path, allow_download=False)


@pytest.mark.parametrize("corrupt", ["truncated", "not gzip"])
def test_broken_gzip_names_the_file(tmp_path, corrupt):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if corrupt == "truncated" else b"\x1f\x8bnot gzip at all")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: cannot read or decompress"):
        catalog.load("mnist", tmp_path, allow_download=False)


def test_batch_order_is_a_pure_function_of_seed_and_epoch():
    batches = catalog.batch_order(1000, 128, seed=5, epoch=2)
    assert [len(b) for b in batches] == [128] * 7 + [104]
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(1000))
    again = catalog.batch_order(1000, 128, seed=5, epoch=2)
    assert all(np.array_equal(x, y) for x, y in zip(batches, again))
    for other in (catalog.batch_order(1000, 128, 6, 2), catalog.batch_order(1000, 128, 5, 3)):
        assert not np.array_equal(np.concatenate(other), np.concatenate(batches))


# --- the downloader, against a mirror on 127.0.0.1 ------------------------------------------

@pytest.fixture
def served():
    """The tiny data set gzipped, and an MNIST source whose MD5s are theirs (as the real ones
    are), with no mirrors yet: (files, source)."""
    gz = {f"{name}.gz": gzip.compress(raw, mtime=0) for name, raw in tiny_mnist().items()}
    md5s = {name: hashlib.md5(gz[f"{name}.gz"]).hexdigest() for name in idx.FILES}
    return gz, replace(idx.MNIST, md5s=md5s, mirrors=())


def test_download_from_second_mirror_when_first_serves_corrupt_bytes(tmp_path, served):
    served, source = served
    bad = Mirror({k: v[:-10] + b"0123456789" for k, v in served.items()})
    good = Mirror(served)
    try:
        idx.download(replace(source, mirrors=(bad.url, good.url)), tmp_path,
                      log=lambda *a, **k: None)
    finally:
        bad.close(), good.close()
    for name, body in served.items():
        assert (tmp_path / name).read_bytes() == body
    assert not list(tmp_path.glob("*.part"))
    assert catalog.load("mnist", tmp_path, allow_download=False).x_test.shape == (100, 784)


def test_corrupt_everywhere_leaves_no_file(tmp_path, served):
    served, source = served
    bad = Mirror({k: v[:-1] + b"!" for k, v in served.items()})
    try:
        with pytest.raises(DataError, match="MD5 mismatch"):
            idx.download(replace(source, mirrors=(bad.url,)), tmp_path,
                          log=lambda *a, **k: None)
    finally:
        bad.close()
    assert list(tmp_path.iterdir()) == []


def test_each_mirror_s_failure_is_said_once_with_its_tries(tmp_path, served):
    """Two tries a mirror: the error named each url twice, once a try ("url: refused; url:
    refused"). Now once, with the count; mirrors failing differently keep their own reasons."""
    served, source = served
    name = "train-images-idx3-ubyte.gz"
    closed, corrupt = Mirror({}), Mirror({k: v[:-1] + b"!" for k, v in served.items()})
    closed.close()                                    # its port now refuses every connection
    try:
        with pytest.raises(DataError) as err:
            download.download_file([closed.url + name, corrupt.url + name], tmp_path / name,
                              source.md5s[name[:-3]])
    finally:
        corrupt.close()
    message = str(err.value)
    assert message.count(closed.url) == 1 and message.count(corrupt.url) == 1, message
    assert f"{corrupt.url + name}: MD5 mismatch (2 tries)" in message
    assert message.index(closed.url) < message.index(corrupt.url)
    assert message.split(closed.url + name + ": ")[1].split(";")[0].endswith("(2 tries)")
    assert list(tmp_path.iterdir()) == []


def test_broken_transfer_is_resumed_with_a_range_request(tmp_path, served):
    served, source = served
    name = "train-images-idx3-ubyte.gz"
    mirror = Mirror(served, cut_after=1000)
    try:
        download.download_file([mirror.url + name], tmp_path / name, source.md5s[name[:-3]])
    finally:
        mirror.close()
    assert (tmp_path / name).read_bytes() == served[name]
    assert mirror.requests == [(f"/{name}", None), (f"/{name}", "bytes=1000-")]


def test_no_network_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "CACHE_DIR", tmp_path / "cache")
    mine = tmp_path / "mine"
    monkeypatch.setenv("MNIST_DIR", str(mine))
    mirror = Mirror({})                                          # nothing is served
    monkeypatch.setattr(idx, "MNIST", replace(idx.MNIST, mirrors=(mirror.url,)))
    try:
        with pytest.raises(DataError) as err:
            catalog.load("mnist")
    finally:
        mirror.close()
    message = str(err.value)
    assert str(mine) in message and str(tmp_path / "cache") in message
    assert "--data-dir or MNIST_DIR" in message and "\n" not in message
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kaggle"])
def test_an_explicit_data_dir_is_never_looked_past(tmp_path, name):
    # the real files are found through the environment (conftest), so a fallback would succeed
    with pytest.raises(DataError, match=f"--data-dir {tmp_path / 'nope'} is not a folder"):
        catalog.load(name, tmp_path / "nope", allow_download=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        catalog.load(name, tmp_path / "file", allow_download=False)
    with pytest.raises(DataError, match=f"{tmp_path}") as err:
        catalog.load(name, tmp_path, allow_download=True)          # never downloaded into either
    assert "\n" not in str(err.value) and not list(tmp_path.glob("*.gz*"))


def test_an_explicit_data_dir_names_the_missing_files(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"holds no MNIST files \(missing "
                                             r"t10k-labels-idx1-ubyte.gz;"):
        catalog.load("mnist", tmp_path)
