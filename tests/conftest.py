"""Shared fixtures: the real MNIST (through MNIST_DIR) and small helpers."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist"
if "MNIST_DIR" not in os.environ and SHARED_MNIST.is_dir():
    os.environ["MNIST_DIR"] = str(SHARED_MNIST)


def rel_err(a, b):
    """max |a - b| / max(|a|, |b|): the error relative to the array's scale, so entries near
    zero neither hide nor inflate a difference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-30)
    return np.abs(a - b).max() / scale


@pytest.fixture(scope="session")
def mnist():
    import data
    if data.find_files() is None:
        pytest.skip("the real MNIST is not here: set MNIST_DIR (see README)")
    return data.load_mnist(dtype="float64")
