"""Checkpoints: a run saved at its end or stopped mid-epoch, resumed from its file, equals the
run that never stopped, in either twin and across them (float64)."""
import numpy as np
import pytest

import mlp_np
from conftest import rel_err
from datasets import catalog
from helpers import TORCH
from training import loop, models, weights_file
from training.config import Config
from training.start import resumed
from twins.numpy_twin import NumpyTwin
from twins.torch_twin import TorchTwin
from test_cli import TINY, run, tiny  # noqa: F401  (tiny: the fixture)

TWINS = {"numpy": NumpyTwin, "torch": TorchTwin}


def subset(mnist, n_train=10 * 64):
    return catalog.Dataset(mnist.x_train[:n_train], mnist.y_train[:n_train], mnist.x_val,
                        mnist.y_val, mnist.x_test[:500], mnist.y_test[:500], mnist.folder,
                        mnist.spec)


def config(optimizer, **kw):
    return Config(**{**dict(hidden=(24,), epochs=2, batch_size=64, lr=3e-3, dtype="float64",
                            seed=5, optimizer=optimizer, label_smoothing=0.1, ema=0.9,
                            weight_decay=1e-3), **kw})


def train_run(twin_name, params, dataset, cfg, resume=None, stop_after=None):
    """(kept weights, history, checkpoint) of a run; stop_after=k stops it after k steps, as
    Ctrl-C does."""
    twin = TWINS[twin_name]()
    model = models.build(twin, cfg, params)
    checkpoint = {}
    if stop_after:
        step, taken = twin.train_step, []
        def counted(*a, **kw):
            taken.append(1)
            if len(taken) == stop_after:
                loop._stop.set()
            return step(*a, **kw)
        twin.train_step = counted
    try:
        history = loop.train(twin, model, dataset, cfg, progress=False, log=lambda *a: None,
                             resume=resume, checkpoint=checkpoint)
    finally:
        loop._stop.clear()
    return twin.export(model), history, checkpoint


def through_file(tmp_path, kept, cfg, checkpoint, epochs=None):
    """Save as the entry points do and read back as --resume does."""
    path = tmp_path / "run.npz"
    weights_file.save_weights(path, kept, cfg.to_dict(), checkpoint)
    params, resumed_cfg, resume = resumed(path, epochs)
    return params, resumed_cfg, resume


def assert_same(a, b, tol):
    for k in a:
        if tol == 0:
            assert np.array_equal(a[k], b[k]), k
        else:
            assert rel_err(a[k], b[k]) < tol, (k, rel_err(a[k], b[k]))


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
@pytest.mark.parametrize("twin,tol", [("numpy", 0), ("torch", 1e-12)])
def test_one_epoch_then_resumed_to_two_equals_two_straight(mnist, tmp_path, twin, tol,
                                                            optimizer):
    dataset = subset(mnist)
    cfg = config(optimizer, schedule="constant")
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    straight, history, _ = train_run(twin, params, dataset, cfg)
    kept, _, checkpoint = train_run(twin, params, dataset, Config(**{**cfg.to_dict(),
                                                                   "epochs": 1}))
    params_1, cfg_2, resume = through_file(tmp_path, kept, Config(**{**cfg.to_dict(),
                                                                   "epochs": 1}),
                                           checkpoint, epochs=2)
    assert cfg_2 == cfg and resume["step"] == 10
    resumed, resumed_history, _ = train_run(twin, params_1, dataset, cfg_2, resume)
    assert not np.array_equal(straight["W1"], params["W1"])
    assert_same(straight, resumed, tol)
    assert resumed_history["step_losses"] == pytest.approx(history["step_losses"], abs=tol)
    assert [e["epoch"] for e in resumed_history["epochs"]] == [1, 2]


@pytest.mark.parametrize("twin,tol", [("numpy", 0), ("torch", 1e-12)])
def test_stopped_mid_epoch_and_resumed_equals_the_run_never_stopped(mnist, tmp_path, twin, tol):
    dataset = subset(mnist)
    cfg = config("adam")                                  # the cosine schedule: same total
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    straight, history, _ = train_run(twin, params, dataset, cfg)
    kept, stopped, checkpoint = train_run(twin, params, dataset, cfg, stop_after=13)
    assert stopped["interrupted"] and checkpoint["step"] == 13 and len(stopped["epochs"]) == 1
    params_13, cfg_13, resume = through_file(tmp_path, kept, cfg, checkpoint)
    resumed, resumed_history, _ = train_run(twin, params_13, dataset, cfg_13, resume)
    assert_same(straight, resumed, tol)
    assert len(resumed_history["step_losses"]) == 20
    assert resumed_history["epochs"][-1]["test_acc"] == pytest.approx(
        history["epochs"][-1]["test_acc"])


@pytest.mark.parametrize("writer,reader", [("numpy", "torch"), ("torch", "numpy")])
def test_a_checkpoint_of_one_twin_resumed_by_the_other_equals_its_straight_run(
        mnist, tmp_path, writer, reader):
    dataset = subset(mnist)
    cfg = config("adam")
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    straight, _, _ = train_run(reader, params, dataset, cfg)
    kept, _, checkpoint = train_run(writer, params, dataset, cfg, stop_after=7)
    params_7, cfg_7, resume = through_file(tmp_path, kept, cfg, checkpoint)
    resumed, _, _ = train_run(reader, params_7, dataset, cfg_7, resume)
    assert_same(straight, resumed, 1e-9)


def test_the_checkpoint_holds_torchs_optimizer_state_and_the_trained_weights(mnist, tmp_path):
    """The file's optimizer state is torch's own exp_avg / exp_avg_sq / step, whichever twin
    wrote it, and with a weight average the trained weights are kept beside it."""
    dataset = subset(mnist)
    cfg = config("adam", epochs=1)
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    model = TORCH.build(params)
    optimizer = TORCH.optimizer(model, "adam", 1e-3)
    for idx in catalog.batch_order(len(dataset.y_train), 64, 0, 1)[:3]:
        TORCH.train_step(model, TORCH.asarray(dataset.x_train[idx]),
                         TORCH.asarray(dataset.y_train[idx]), optimizer)
    state = TORCH.optimizer_state(optimizer, model)
    torch_own = optimizer.state[model.params["W1"]]
    assert state["step"] == 3 and np.array_equal(state["exp_avg"]["W1"],
                                                  torch_own["exp_avg"].numpy())
    _, _, checkpoint = train_run("numpy", params, dataset, cfg)
    weights_file.save_weights(tmp_path / "w.npz", params, cfg.to_dict(), checkpoint)
    with np.load(tmp_path / "w.npz") as f:
        keys = set(f.files)
    assert {"W1", "trained.W1", "exp_avg.W1", "exp_avg_sq.b2", "checkpoint"} <= keys
    loaded, _ = weights_file.load_weights(tmp_path / "w.npz")             # still a weights file
    assert set(loaded) == {"W1", "b1", "W2", "b2"}


def test_resume_from_the_command_line(tiny, tmp_path):
    path = str(tmp_path / "run.npz")
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), "--save", path)
    assert r.returncode == 0, r.stderr
    r = run("main_torch.py", "--resume", path, "--epochs", "2", "--data-dir", str(tiny),
            "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and "epoch  2/2" in r.stdout and "epoch  1/2" not in r.stdout
    checkpoint, saved = weights_file.load_checkpoint(path)                   # saved back into it
    assert saved["epochs"] == 2 and saved["twin"] == "torch"
    assert [e["epoch"] for e in checkpoint["history"]["epochs"]] == [1, 2]
    r = run("main_np.py", "--resume", path, "--data-dir", str(tiny), "--no-progress")
    assert r.returncode == 1 and "has finished its 2 epochs; give --epochs above 2" in r.stderr
    r = run("main_np.py", "--resume", path, "--lr", "0.1", "--data-dir", str(tiny))
    assert r.returncode == 2 and "--lr 0.1 differs from its 0.01" in r.stderr
    r = run("main_np.py", "--resume", path, "--epochs", "1", "--data-dir", str(tiny))
    assert r.returncode == 2 and "can only raise the total" in r.stderr   # a flag against it
    r = run("main_np.py", "--resume", path, "--epochs", "2", "--data-dir", str(tiny))
    assert r.returncode == 2 and "has finished its 2 epochs" in r.stderr  # a flag, as above
    np.savez(tmp_path / "old.npz", **weights_file.load_weights(path)[0])    # weights alone
    r = run("main_np.py", "--resume", str(tmp_path / "old.npz"), "--data-dir", str(tiny))
    assert r.returncode == 1 and "no checkpoint to resume" in r.stderr
    assert "Traceback" not in r.stderr


def test_resume_refuses_every_flag_that_differs_and_accepts_the_same_command_line(tiny, tmp_path):
    """The field report: --dataset mnist --model cnn on a file saved from a lines MLP trained
    the lines MLP without a word; and re-running the very command line with --resume added was
    refused although nothing changed."""
    lines = str(tmp_path / "lines.npz")
    first = ["--dataset", "lines", "--epochs", "1", "--hidden", "8", "--no-progress"]
    r = run("main_np.py", *first, "--save", lines)
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", "--resume", lines, "--dataset", "mnist", "--model", "cnn",
            "--epochs", "2")
    assert r.returncode == 2, r.stderr
    assert "--dataset mnist differs from its lines" in r.stderr
    assert "--model cnn differs from its mlp" in r.stderr and "Traceback" not in r.stderr
    r = run("main_torch.py", *first[:2], "--hidden", "8", "16", "--resume", lines, "--epochs", "2")
    assert r.returncode == 2 and "--hidden 8 16 differs from its 8" in r.stderr
    # the same command line again, --resume added and the total raised: nothing changes, it runs
    r = run("main_torch.py", *first[:-1], "--epochs", "2", "--resume", lines, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and "epoch  2/2" in r.stdout
    # invented, the same kind: a value equal once normalised (--stride 1 for a CNN saved with
    # 1 1) is the saved value; one that differs only in a CNN's layout is refused
    cnn = str(tmp_path / "cnn.npz")
    shape = ["--model", "cnn", "--channels", "3", "4", "--hidden", "8", "--batch-size", "50",
             "--lr", "0.01", "--schedule", "constant", "--ema", "0", "--no-progress",
             "--data-dir", str(tiny)]
    r = run("main_np.py", *shape, "--stride", "1", "1", "--epochs", "1", "--save", cnn)
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", *shape, "--stride", "1", "--epochs", "2", "--resume", cnn)
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", "--resume", cnn, "--kernel", "3", "--epochs", "3", "--data-dir",
            str(tiny))
    assert r.returncode == 2 and "--kernel 3 differs from its 5" in r.stderr


def test_load_refuses_a_shape_the_file_contradicts_and_eval_refuses_training_flags(tiny,
                                                                                  tmp_path):
    """--load decides the network's shape: a flag saying otherwise was silently overruled;
    --eval trains nothing: a training flag beside it was silently ignored."""
    path = str(tmp_path / "w.npz")
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), "--save", path)
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", "--load", path, "--hidden", "32", *TINY[2:], "--data-dir", str(tiny))
    assert r.returncode == 2 and "--hidden 32 differs from its 16" in r.stderr
    r = run("main_torch.py", "--load", path, "--model", "cnn", *TINY[2:], "--data-dir",
            str(tiny))
    assert r.returncode == 2 and "--model cnn differs from its mlp" in r.stderr
    r = run("main_np.py", "--load", path, *TINY, "--data-dir", str(tiny))   # --hidden 16: equal
    assert r.returncode == 0, r.stderr
    r = run("main_np.py", "--load", path, "--eval", "--lr", "0.1", "--epochs", "3",
            "--data-dir", str(tiny))
    assert r.returncode == 2, r.stderr
    assert "--eval only evaluates the --load weights: --epochs, --lr would do nothing" in r.stderr
    r = run("main_np.py", "--load", path, "--eval", "--save", str(tmp_path / "x.npz"),
            "--data-dir", str(tiny))
    assert r.returncode == 2 and "--save would do nothing" in r.stderr
    # what only shapes training batches (distortions, dropout masks) does nothing to --eval
    r = run("main_np.py", "--load", path, "--eval", "--augment", "--distortion", "mirror",
            "--dropout", "0.5", "--data-dir", str(tiny))
    assert r.returncode == 2 and "--dropout, --augment, --distortion would do nothing" \
        in r.stderr, r.stderr


@pytest.mark.parametrize("dataset_flag", [[], ["--dataset", "fashion-mnist"]])
def test_load_trains_on_with_the_defaults_of_the_files_model(tiny, tmp_path, dataset_flag):
    """A CNN file's training goes on with the CNN's defaults on its data set: given
    --dataset fashion-mnist without --model, it took Fashion-MNIST's MLP's (adamw, weight
    decay 0.1) where its CNN's are adam without decay."""
    dataset = dataset_flag[1] if dataset_flag else "mnist"
    cfg = Config.for_run("mnist", "cnn", channels=(2, 3), hidden=(8,))
    path = tmp_path / "cnn.npz"
    weights_file.save_weights(path, models.init_params(cfg), cfg.to_dict())
    r = run("main_np.py", "--load", str(path), *dataset_flag, "--epochs", "1", "--data-dir",
            str(tiny), "--no-progress", "--threads", "1")
    header = r.stdout.splitlines()[0]
    wanted = Config.for_run(dataset, "cnn")
    assert "CNN conv 2-3" in header and f", {wanted.optimizer} lr {wanted.lr:g}" in header, header
    assert Config.for_run(dataset, "mlp").optimizer != wanted.optimizer or not dataset_flag
