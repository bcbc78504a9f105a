"""Shared fixtures: the real MNIST and Fashion-MNIST (through MNIST_DIR and FASHION_MNIST_DIR,
defaulting to ../shared/datasets/), Kaggle-format CSVs made from MNIST, and small helpers."""
import os
import sys
from pathlib import Path

# Under pytest-xdist (pytest.ini: one worker a core, up to 4) each worker runs on its own share of
# the cores, set before NumPy loads its BLAS, and the commands its tests start inherit it: every
# --threads default and BLAS pool is sized from this process's cores (os.sched_getaffinity), so
# the workers do not crowd one another's threads (unpinned, two workers made a fixture's
# training 4x slower, and the suite ~1.4x faster in all, not ~2x).
if "PYTEST_XDIST_WORKER" in os.environ:
    _worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    _workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    _cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, _cores[_worker % len(_cores)::max(1, min(_workers, len(_cores)))])

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for env, folder in (("MNIST_DIR", "mnist"), ("FASHION_MNIST_DIR", "fashion-mnist")):
    shared = ROOT.parent / "shared" / "datasets" / folder
    if env not in os.environ and shared.is_dir():
        os.environ[env] = str(shared)


def rel_err(a, b):
    """max |a - b| / max(|a|, |b|): the error relative to the array's scale, so entries near
    zero neither hide nor inflate a difference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-30)
    return np.abs(a - b).max() / scale


def real(name, dtype="float64"):
    from datasets import catalog, idx
    source = {"mnist": idx.MNIST, "fashion-mnist": idx.FASHION_MNIST}[name]
    if idx.find_files(source) is None:
        pytest.skip(f"the real {source.title} is not here: set {source.env} (see README)")
    return catalog.load(name, dtype=dtype, allow_download=False)


@pytest.fixture(scope="session")
def mnist():
    return real("mnist")


@pytest.fixture(scope="session")
def fashion():
    return real("fashion-mnist", "float32")


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory, mnist):
    """train.csv (1,000 labelled rows) and test.csv (300 rows) in Kaggle's format, from the
    real MNIST images, so that what is read back can be held against the IDX files."""
    from datasets import kaggle
    folder = tmp_path_factory.mktemp("kaggle")
    images = np.round(mnist.x_train[:1300] * 255).astype(np.uint8).reshape(-1, 28, 28)
    (folder / "train.csv").write_text(kaggle.csv_text(images[:1000], mnist.y_train[:1000]))
    (folder / "test.csv").write_text(kaggle.csv_text(images[1000:]))
    return folder
