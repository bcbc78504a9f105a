"""Faults lose nothing, bad files get one clear line, and predict.py shows the truth."""
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import mlp_np
from datasets import idx
from datasets.base import DataError
from storage import atomic
from training import weights_file
from conftest import ROOT
from helpers import idx_bytes, interrupt, write_mnist
from test_cli import TINY, run, tiny  # noqa: F401  (tiny: the fixture)

IMAGES = np.random.default_rng(0).integers(0, 256, (4, 28, 28))
VALID = idx_bytes(IMAGES, 2051)


@st.composite
def corruptions(draw):
    """A valid IDX file, then some of: bytes overwritten, cut off, appended; maybe gzipped."""
    raw = bytearray(VALID)
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(raw) - 1))
        raw[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        raw = raw[:draw(st.integers(0, len(raw)))]
    raw += draw(st.binary(max_size=8))
    raw = bytes(raw)
    if draw(st.booleans()):
        raw = gzip.compress(raw, mtime=0)
        damaged = bytearray(raw)                           # damage the gzip stream itself
        for _ in range(draw(st.integers(0, 3))):
            damaged[draw(st.integers(0, len(damaged) - 1))] = draw(st.integers(0, 255))
        if draw(st.booleans()):
            damaged = damaged[:draw(st.integers(0, len(damaged)))] + draw(st.binary(max_size=4))
        raw = bytes(damaged)
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions())
def test_idx_reader_returns_the_original_or_raises_its_own_error(tmp_path, raw):
    path = tmp_path / "f.gz"
    path.write_bytes(raw)
    try:
        array = idx.read_idx(path, 2051, (28, 28))
    except DataError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return
    # accepted: only when the pixels changed and nothing else did
    assert array.shape[1:] == (28, 28)
    if array.shape == IMAGES.shape:
        changed = raw if raw[:2] != b"\x1f\x8b" else gzip.decompress(raw)
        assert np.array_equal(array.reshape(-1), np.frombuffer(changed[16:], np.uint8))


def test_kill_during_a_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old, complete\n")
    code = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); from storage import atomic\n"
            "def slow(f):\n"
            "    for _ in range(1000):\n"
            "        f.write(b'x' * 10000); f.flush(); time.sleep(0.01)\n"
            f"atomic.atomic_write({str(target)!r}, slow)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 20
    while not list(tmp_path.glob(".results.csv.*.tmp")) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)                                           # mid-write
    proc.kill()
    proc.wait()
    assert target.read_text() == "old, complete\n"
    leftovers = list(tmp_path.glob(".results.csv.*.tmp"))
    assert len(leftovers) == 1 and f".{proc.pid}." in leftovers[0].name
    (tmp_path / ".results.csv.tmp").write_text("a file of the user's")     # not a leftover
    atomic.write_text(target, "new\n")                     # the next write clears it
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.csv.tmp", "results.csv"]


def test_a_write_in_progress_keeps_its_temporary_file(tmp_path):
    """Another live process's temporary file (this one's pid) is not a leftover."""
    mine = tmp_path / f".w.txt.{os.getpid()}.abcd1234.tmp"
    mine.write_text("being written")
    atomic.write_text(tmp_path / "w.txt", "done")
    assert mine.exists() and (tmp_path / "w.txt").read_text() == "done"


def test_ctrl_c_saves_history_and_weights_marked_interrupted(tmp_path):
    tiny = write_mnist(tmp_path / "tiny")
    history, weights = tmp_path / "h.json", tmp_path / "w.npz"
    args = [*TINY[:2], "--epochs", "100000", "--batch-size", "50", "--no-progress",
            "--data-dir", str(tiny), "--history", str(history), "--save", str(weights)]
    code, out, err = interrupt(["main_np.py", *args], ROOT, when="epoch  3/")
    assert code == 130, err
    assert "interrupted" in out and "Traceback" not in err
    saved = json.loads(history.read_text())
    assert saved["interrupted"] is True and len(saved["epochs"]) >= 3
    assert len(saved["step_losses"]) >= 3 * 12
    params, config = weights_file.load_weights(weights)
    assert config["interrupted"] is True and params["W1"].shape == (16, 784)


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "w.npz"
    weights_file.save_weights(path, mlp_np.init_params((784, 8, 10), 0), {"hidden": [8]})
    return path


@pytest.mark.parametrize("damage,message", [
    ("missing", "does not exist"),
    ("not npz", "is not a readable .npz"),
    ("lacks b2", "missing b2"),
    ("wrong shape", "W2 has shape (8, 9)"),
    ("rows per input", "W1 has shape (784, 8) and b1 (8,); expected (n, 784)"),
    ("nan", "W1 holds NaN or inf"),
])
def test_bad_weights_files(weights, tmp_path, damage, message):
    params, _ = weights_file.load_weights(weights)
    path = tmp_path / "bad.npz"
    if damage == "not npz":
        path.write_text("hello")
    elif damage == "lacks b2":
        np.savez(path, **{k: v for k, v in params.items() if k != "b2"})
    elif damage == "wrong shape":
        np.savez(path, **dict(params, W2=np.zeros((8, 9), np.float32)))
    elif damage == "rows per input":             # W stored (n_in, n_out), as in x @ W
        np.savez(path, **{k: v.T for k, v in params.items()})
    elif damage == "nan":
        params["W1"][0, 0] = np.nan
        np.savez(path, **params)
    for script, args in (("main_np.py", ["--load", str(path), "--eval"]),
                         ("main_torch.py", ["--load", str(path), "--eval"]),
                         ("predict.py", ["--weights", str(path), "--index", "0"])):
        r = run(script, *args)
        assert r.returncode == 1, (script, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, (script, r.stderr)


def test_nan_weights_are_never_saved(tmp_path):
    params = mlp_np.init_params((784, 8, 10), 0)
    params["b1"][0] = np.inf
    with pytest.raises(weights_file.FileError, match="b1 holds NaN or inf"):
        weights_file.save_weights(tmp_path / "w.npz", params)
    assert list(tmp_path.iterdir()) == []


def test_predict_draws_the_digit_and_both_twins_agree(mnist, weights):
    r = run("predict.py", "--weights", str(weights), "--index", "7")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "MNIST test image 7" and len(lines[1]) == 56 and len(lines[28]) == 56
    assert "@" in "".join(lines[1:29])                        # the digit's ink
    assert "NumPy" in lines[29] and "PyTorch" in lines[29]
    probs = np.array([[float(v) for v in line.replace("<", "").split()[-2:]] for line in lines[30:40]])
    assert np.allclose(probs.sum(0), 1, atol=1e-3) and np.allclose(probs[:, 0], probs[:, 1], atol=1e-4)
    assert lines[-1].endswith(f"true label {int(mnist.y_test[7])}")


def test_predict_own_png_either_polarity(mnist, weights, tmp_path):
    from PIL import Image
    digit = (mnist.x_test[0].reshape(28, 28) * 255).astype(np.uint8)
    outputs = []
    for name, pixels in (("white_on_black.png", digit), ("black_on_white.png", 255 - digit)):
        Image.fromarray(pixels).save(tmp_path / name)
        r = run("predict.py", "--weights", str(weights), "--image", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout.splitlines()[1:])
    assert outputs[0] == outputs[1]                           # the inverted one is detected
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "blank.png")
    r = run("predict.py", "--weights", str(weights), "--image", str(tmp_path / "blank.png"))
    assert r.returncode == 1 and "blank.png: no ink found" in r.stderr


def test_predict_index_out_of_range(mnist, weights):
    r = run("predict.py", "--weights", str(weights), "--index", "10000")
    assert r.returncode == 2 and "--index must be in 0..9999" in r.stderr


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py", "compare.py"])
def test_a_network_too_large_for_memory_is_refused_before_allocating(tiny, script):
    start = time.time()
    r = run(script, "--hidden", "200000000", "--data-dir", str(tiny), "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "MLP 784-200000000-10 has 159,000,000,010 parameters: training it needs about" \
        in r.stderr
    assert "GiB of memory and this machine has" in r.stderr and len(r.stderr.splitlines()) == 1
    assert time.time() - start < 60


def test_memory_estimate_grows_with_the_network_and_the_optimizer():
    from training import models
    from training.config import Config
    small, wide = Config(hidden=(100,)), Config(hidden=(10_000,))
    params = 784 * 10_000 + 10_000 + 10_000 * 10 + 10
    assert sum(n for n, _ in models.layer_shapes(wide)) == params
    # weights, gradients, Adam's two moments, the average (4 bytes each) and the float64 draw
    assert models.memory_needed(wide) >= params * (5 * 4 + 8)
    assert models.memory_needed(wide) > 10 * models.memory_needed(small)
    sgd = Config(hidden=(10_000,), optimizer="sgd", ema=0.0)
    assert models.memory_needed(wide) - models.memory_needed(sgd) == params * 3 * 4


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("distortion", ["affine", "elastic", "mirror"])
def test_the_memory_estimate_covers_what_augmenting_a_batch_takes(dtype, distortion):
    """--augment's arrays at their peak (tracemalloc) within what memory_needed adds for them:
    a batch of 60,000 with elastic maps was estimated at 0.013 GiB where it takes 3.2 GiB."""
    import tracemalloc
    from datasets import augment as aug
    from training import models
    from training.config import Config
    plain = Config(hidden=(16,), batch_size=500, dtype=dtype)
    cfg = Config(hidden=(16,), batch_size=500, dtype=dtype, augment=True, distortion=distortion)
    x = np.random.default_rng(0).random((500, 784)).astype(dtype)
    tracemalloc.start()
    aug.augment(x, (28, 28), aug.rng_for(0, 1, 0), aug.DISTORTIONS[distortion])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    added = models.memory_needed(cfg) - models.memory_needed(plain)
    assert peak <= added < 1.2 * peak


def test_a_run_at_chance_under_near_total_dropout_is_blamed_on_the_dropout(tiny, tmp_path):
    """--dropout 0.9999999 was shown as 'dropout 1' and its flat loss blamed on the learning
    rate ('blew up ... from 2.303 to 2.308')."""
    r = run("main_np.py", *TINY, "--dropout", "0.9999999", "--data-dir", str(tiny), "--save",
            str(tmp_path / "w.npz"))
    assert r.returncode == 1 and "dropout 0.9999999," in r.stdout, r.stderr
    assert "is at chance level" in r.stderr and "dropout 0.9999999 keeps 1e-07 of each" in \
        r.stderr and "--dropout 0.5 or less" in r.stderr and "learning rate" not in r.stderr
    assert not (tmp_path / "w.npz").exists()


def test_a_run_that_ends_at_chance_level_has_failed(tiny, tmp_path):
    r = run("main_np.py", *TINY, "--lr", "1e6", "--data-dir", str(tiny), "--save",
            str(tmp_path / "w.npz"))
    assert r.returncode == 1, r.stderr
    assert "is at chance level" in r.stderr and "--lr 100000" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "w.npz").exists()
