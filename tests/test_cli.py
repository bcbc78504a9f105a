"""main_np.py and main_torch.py as a user runs them: exit codes, messages, files."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mlp_np
from conftest import ROOT
from helpers import NP, TORCH, write_mnist
from training import loop, weights_file

# A plumbing run: one epoch of 12 steps, fast enough to learn the tiny set above chance.
TINY = ["--hidden", "16", "--epochs", "1", "--batch-size", "50", "--lr", "0.01", "--schedule",
        "constant", "--ema", "0", "--no-progress"]


def run(script, *args, torch_missing=False, patch="", env=None):
    """Run an entry point in a fresh interpreter; `patch` is Python run first (e.g. to point
    the downloader at a local mirror)."""
    code = ("import sys, runpy\n"
            + ("sys.modules['torch'] = None\n" if torch_missing else "")
            + patch
            + f"\nsys.argv = {[script, *args]!r}\nrunpy.run_path({script!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=env)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("tiny"))


def test_main_np_runs_without_torch(tiny, tmp_path):
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), "--history", str(tmp_path / "h.json"),
            "--threads", "1", torch_missing=True)
    assert r.returncode == 0, r.stderr
    assert "final test accuracy" in r.stdout
    assert r.stdout.rstrip().endswith(f"s of training; saved {tmp_path / 'h.json'}")  # says where
    assert ", float32, 1 thread; data from" in r.stdout      # its summary line, in English
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history["step_losses"]) == 12 and history["twin"] == "numpy"
    assert set(history["epochs"][0]) >= {"train_loss", "test_loss", "test_acc", "seconds"}


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py"])
@pytest.mark.parametrize("args,message", [
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--hidden", "0", "8"], "--hidden sizes must be positive"),
    (["--lr", "-1"], "--lr must be a finite number > 0"),
    (["--lr", "0"], "--lr must be a finite number > 0"),
    (["--lr", "nan"], "--lr must be a finite number > 0"),
    (["--lr", "inf"], "--lr must be a finite number > 0"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1)"),
    (["--ema", "-0.5"], "--ema must be in [0, 1)"),
    (["--ema", "nan"], "--ema must be in [0, 1)"),
    (["--distortion", "mirror"], "--distortion mirror needs --augment"),
    (["--distortion", "elastic"], "--distortion elastic needs --augment"),
    (["--distortion", "affine"], "--distortion affine needs --augment"),   # at its default too
    (["--distortion", "flip"], "invalid choice: 'flip'"),
    (["--hidden", "0", "--batch-norm", "--dropout", "0.5", "--activation", "tanh"],
     "--batch-norm --dropout --activation would do nothing for an MLP without a hidden layer"),
    (["--channels", "4", "8", "--kernel", "3"], "--channels --kernel would do nothing for "
                                                "--model mlp: leave them out"),
    # an MLP's convolutions are idle, not inconsistent: their defaults (two convolutions'
    # padding) once took the blame for a --channels of one
    (["--channels", "4"], "--channels would do nothing for --model mlp: leave it out"),
    (["--channels", "4", "8", "16", "--stride", "1", "2"], "--channels --stride would do "
                                                           "nothing for --model mlp"),
    (["--momentum", "0.5"], "--momentum would do nothing for --optimizer adam: leave it out"),
    (["--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
    (["--save", "/nonexistent/dir/w.npz"], "folder /nonexistent/dir does not exist"),
])
def test_bad_flags_exit_2_with_one_line(script, args, message):
    r = run(script, *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"{script}: error:")


def test_batch_larger_than_training_set_is_an_error(tiny):
    r = run("main_np.py", *TINY[:4], "--batch-size", "601", "--data-dir", str(tiny))
    assert r.returncode == 2 and "larger than the 600 training images" in r.stderr


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py"])
def test_batch_norm_over_a_batch_of_one_image_is_refused_before_training(tiny, tmp_path,
                                                                          script):
    """torch refuses a batch norm over one value per feature, the NumPy twin alike: a last
    batch of 1 (600 images at 599) once raised it after a whole epoch, saving nothing."""
    save = tmp_path / "w.npz"
    for size, said in (("599", "600 training images leave a last batch of 1"),
                       ("1", "every batch is 1")):
        r = run(script, *TINY[:4], "--batch-norm", "--batch-size", size, "--data-dir",
                str(tiny), "--save", str(save))
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert "epoch" not in r.stdout and not save.exists()
    if script == "main_np.py":                 # compare.py asks the same question of its data
        r = run("compare.py", "--quick", "--hidden", "16", "--batch-norm", "--batch-size",
                "599", "--data-dir", str(tiny), "--out", str(tmp_path / "out"), "--no-readme")
        assert r.returncode == 2 and "leave a last batch of 1" in r.stderr, r.stderr
        assert not any((tmp_path / "out").rglob("*.*"))
    r = run(script, *TINY[:4], "--batch-norm", "--batch-size", "598", "--data-dir", str(tiny),
            "--no-progress")                 # a last batch of 2 trains (2 steps: to chance)
    assert "epoch  1/1" in r.stdout and "batch-norm needs" not in r.stderr, r.stderr


def test_resume_takes_a_repeated_distortion_and_refuses_another(tiny, tmp_path):
    """--resume's flags may repeat the saved run's values: --distortion elastic without
    --augment repeats a run saved with both (it was refused as needing --augment)."""
    path = str(tmp_path / "w.npz")
    r = run("main_np.py", *TINY, "--augment", "--distortion", "elastic", "--data-dir",
            str(tiny), "--save", path)
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", "--resume", path, "--epochs", "2", "--distortion", "mirror")
    assert r.returncode == 2 and "--distortion mirror differs from its elastic" in r.stderr
    r = run("main_np.py", "--resume", path, "--epochs", "2", "--distortion", "elastic",
            "--no-progress", "--data-dir", str(tiny))
    assert r.returncode == 0 and "epoch  2/2" in r.stdout, r.stderr


def test_cuda_without_gpu_is_a_clear_error(tiny):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the error path cannot be reached")
    r = run("main_torch.py", *TINY, "--device", "cuda", "--data-dir", str(tiny))
    assert r.returncode == 1 and "torch sees no CUDA GPU" in r.stderr
    assert "Traceback" not in r.stderr


def test_divergence_stops_with_advice_and_saves_nothing(tiny, tmp_path):
    for script in ("main_np.py", "main_torch.py"):
        weights = tmp_path / f"{script}.npz"
        r = run(script, *TINY, "--lr", "1e30", "--optimizer", "sgd", "--data-dir", str(tiny),
                "--save", str(weights))
        assert r.returncode == 1, r.stderr
        assert "training diverged" in r.stderr and "lower learning rate" in r.stderr
        assert not weights.exists() and list(tmp_path.iterdir()) == []
        assert "RuntimeWarning" not in r.stderr                      # the error is the one line
    # invented, the same kind: a CNN's overflow passes through its own layers
    r = run("main_np.py", *TINY, "--model", "cnn", "--channels", "2", "3", "--lr", "1e30",
            "--optimizer", "sgd", "--data-dir", str(tiny))
    assert r.returncode == 1 and "training diverged" in r.stderr, r.stderr
    assert "RuntimeWarning" not in r.stderr


def test_missing_data_and_no_network(tmp_path):
    patch = (f"import dataclasses; from datasets import idx; idx.CACHE_DIR = "
             f"__import__('pathlib').Path({str(tmp_path / 'c')!r}); idx.MNIST = "
             f"dataclasses.replace(idx.MNIST, mirrors=('http://127.0.0.1:9/',))")
    env = dict(os.environ, MNIST_DIR=str(tmp_path / "d"))
    r = run("main_np.py", *TINY, patch=patch, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "MNIST not found" in r.stderr and str(tmp_path / "d") in r.stderr
    assert "--data-dir or MNIST_DIR" in r.stderr


def test_weights_from_one_twin_load_into_the_other(tiny, tmp_path):
    saved = {}
    for script in ("main_np.py", "main_torch.py"):
        saved[script] = tmp_path / f"{script}.npz"
        r = run(script, *TINY, "--data-dir", str(tiny), "--save", str(saved[script]),
                "--threads", "2")
        assert r.returncode == 0, r.stderr
        assert ", float32, 2 threads; data from" in r.stdout
    # Same weights from both twins (same init, same batches), and each loads into the other.
    a, _ = weights_file.load_weights(saved["main_np.py"])
    b, config = weights_file.load_weights(saved["main_torch.py"])
    assert config["twin"] == "torch" and config["hidden"] == [16]
    assert all(np.allclose(a[k], b[k], atol=1e-5) for k in a)
    evals = [run(s, "--load", str(saved["main_np.py"]), "--eval", "--data-dir", str(tiny))
             for s in ("main_np.py", "main_torch.py")]
    assert all(r.returncode == 0 for r in evals), [r.stderr for r in evals]
    assert evals[0].stdout.split(":")[1] == evals[1].stdout.split(":")[1]


def test_saved_weights_predict_the_same_in_both_twins(mnist, tmp_path):
    """Real test set: same argmax everywhere, logits equal to 1e-5, and the accuracy that
    training.loop.evaluate reports recomputed by an independent forward pass."""
    params = mlp_np.init_params((784, 64, 10), 0, "float32")
    x, y = mnist.x_train[:10_000].astype(np.float32), mnist.y_train[:10_000]
    model = NP.build(params)
    opt = NP.optimizer(model, "adam", 1e-3)
    for i in range(0, 10_000, 50):
        NP.train_step(model, x[i:i + 50], y[i:i + 50], opt)
    weights_file.save_weights(tmp_path / "w.npz", NP.export(model), {"hidden": [64]})
    loaded, _ = weights_file.load_weights(tmp_path / "w.npz")
    x_test = mnist.x_test.astype(np.float32)
    logits_np = NP.logits(NP.build(loaded), x_test.copy())
    logits_t = TORCH.logits(TORCH.build(loaded), TORCH.asarray(x_test)).numpy()
    assert np.abs(logits_np - logits_t).max() < 1e-5 * max(1, np.abs(logits_np).max())
    assert np.array_equal(logits_np.argmax(1), logits_t.argmax(1))
    # independent forward pass: plain matrix maths, no mlp_np code
    h = np.maximum(x_test @ loaded["W1"].T + loaded["b1"], 0)
    independent = ((h @ loaded["W2"].T + loaded["b2"]).argmax(1) == mnist.y_test).mean()
    _, reported = loop.evaluate(NP, NP.build(loaded), x_test, mnist.y_test)
    assert reported == independent and reported > 0.85


def test_reported_test_accuracy_matches_an_independent_forward_pass(mnist, tmp_path):
    """What main_np.py reports is the saved weights' accuracy on the 10,000 test images."""
    weights, history = tmp_path / "w.npz", tmp_path / "h.json"
    r = run("main_np.py", "--hidden", "32", "--epochs", "1", "--no-progress",
            "--save", str(weights), "--history", str(history))
    assert r.returncode == 0, r.stderr
    reported = json.loads(history.read_text())["epochs"][-1]["test_acc"]
    params, _ = weights_file.load_weights(weights)
    x_test = mnist.x_test.astype(np.float32)
    h = np.maximum(x_test @ params["W1"].T + params["b1"], 0)        # no mlp_np code
    independent = ((h @ params["W2"].T + params["b2"]).argmax(1) == mnist.y_test).mean()
    assert reported == pytest.approx(independent, abs=1e-12) and reported > 0.9
    assert f"final test accuracy {100 * reported:.2f}%" in r.stdout


@pytest.mark.parametrize("damage,message", [
    ("truncated", "t10k-images-idx3-ubyte.gz: cannot read or decompress"),
    ("not gzip", "t10k-images-idx3-ubyte.gz: cannot read or decompress"),
    ("magic", "IDX magic number is 2049, expected 2051"),
    ("count", "header says 100 items"),
    ("disagree", "test images hold 100 items but test labels hold 99"),
])
def test_bad_data_files_exit_1_naming_the_problem(tmp_path, damage, message):
    from helpers import idx_bytes, tiny_mnist
    files_ = tiny_mnist()
    images = files_["t10k-images-idx3-ubyte"]
    if damage == "magic":
        files_["t10k-images-idx3-ubyte"] = (2049).to_bytes(4, "big") + images[4:]
    elif damage == "count":
        files_["t10k-images-idx3-ubyte"] = images[:-784]
    elif damage == "disagree":
        files_["t10k-labels-idx1-ubyte"] = idx_bytes(np.zeros(99), 2049)
    folder = write_mnist(tmp_path / "d", files_)
    gz = folder / "t10k-images-idx3-ubyte.gz"
    if damage == "truncated":
        gz.write_bytes(gz.read_bytes()[:500])
    elif damage == "not gzip":
        gz.write_bytes(b"\x1f\x8b" + b"certainly not deflate data" * 10)
    for script in ("main_np.py", "main_torch.py"):
        r = run(script, *TINY, "--data-dir", str(folder))
        assert r.returncode == 1, (script, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, (script, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py", "compare.py", "bench.py",
                                    "tune.py", "predict.py"])
def test_entry_points_let_openblas_threads_sleep_before_numpy_loads(script):
    """OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when NumPy loads: every entry point must
    have set it by then (cli/process.py does; see there why)."""
    watch = ("import os\n"
             "class Watch:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'numpy':\n"
             "            print('at numpy:', os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
             "            sys.exit(0)\n"
             "sys.meta_path.insert(0, Watch())\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    r = run(script, "--help", patch=watch, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "at numpy: 4"


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py"])
def test_the_reference_run_gives_the_numbers_it_gave_before_the_rebuild(mnist, script, tmp_path):
    """The house-rebuild issue's reference run (float64, real MNIST): its numbers, measured
    before the code was moved into packages, must not move (1e-12)."""
    history = tmp_path / "h.json"
    r = run(script, "--hidden", "32", "--epochs", "1", "--dtype", "float64", "--seed", "5",
            "--schedule", "constant", "--ema", "0", "--optimizer", "adam", "--lr", "0.002",
            "--batch-size", "256", "--label-smoothing", "0.1", "--weight-decay", "0",
            "--no-progress", "--history", str(history))
    assert r.returncode == 0, r.stderr
    last = json.loads(history.read_text())["epochs"][-1]
    assert last["train_loss"] == pytest.approx(0.8925573414491011, rel=1e-12, abs=0)
    assert last["test_loss"] == pytest.approx(0.349094626572059, rel=1e-12, abs=0)
    assert last["test_acc"] == 0.9291


def test_a_switch_on_by_default_can_be_switched_off():
    """Fashion-MNIST's CNN has batch norm by default: --no-batch-norm takes it off (there was
    no way to), and --no-augment likewise; neither given, the defaults stand."""
    from training import config
    parser = config.build_parser("test")
    def cfg(*flags):
        return config.config_from_args(parser, parser.parse_args(
            ["--dataset", "fashion-mnist", "--model", "cnn", *flags]))
    assert cfg().batch_norm is True and cfg("--no-batch-norm").batch_norm is False
    assert cfg("--augment").augment is True and cfg("--augment", "--no-augment").augment is False
    assert cfg("--no-batch-norm").dropout == cfg().dropout         # the other defaults stay


def test_help_gives_each_flag_the_defaults_a_run_would_use():
    """--help names every model's and data set's default where it differs from the one that
    would apply without it; a CNN's layer shows the CNN's as its default, not the unused field
    default the MLP's files record (6 16 channels)."""
    from training.config import Config, build_parser
    text = " ".join(build_parser("x").format_help().split())
    said = lambda values: " ".join(map(str, values))
    mnist, fashion = Config.for_run("mnist", "cnn"), Config.for_run("fashion-mnist", "cnn")
    assert said(mnist.channels) != said(fashion.channels)   # else the next line tests nothing
    assert f"output channels of each convolution (default: {said(mnist.channels)}; " \
           f"fashion-mnist/cnn: {said(fashion.channels)})" in text
    assert f"(k x k) of every convolution (default: {mnist.kernel}; fashion-mnist/cnn: " \
           f"{fashion.kernel})" in text
    assert "6 16" not in text and "cnn: 8 16" not in text
    assert "fashion-mnist/cnn: 0.002" not in text                 # --lr: the same as MNIST's
    assert "(default: 0.0; fashion-mnist/cnn: 0.4)" in text       # --dropout: not the same
    assert "--hidden 1024 or --hidden 512 256; --hidden 0: none (an MLP without one is " \
           "softmax regression) (default: 1024; fashion-mnist/mlp: 512 512;" in text
