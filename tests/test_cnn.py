"""The CNN twins: the whole NumPy CNN against autograd, and both trained side by side."""
import numpy as np
import pytest

from conftest import rel_err
from helpers import NP, TORCH
from nets import cnn_np
from nets.shapes import Arch
from test_parity import subset
from training import loop, weights_file
from training.config import Config

LENET = Arch(image=(28, 28), padding=(2, 0), stride=(1, 1), pool=2)
ODD = Arch(image=(24, 18), padding=(1, 0), stride=(2, 1), pool=2)   # non-square, strided


def test_feature_shapes_and_he_initialisation():
    assert LENET.feature_shapes((6, 16), 5) == [(6, 14, 14), (16, 5, 5)]     # LeNet-5's
    params = cnn_np.init_params(LENET, (6, 16), 5, (120, 84), 10, seed=0)
    assert {k: v.shape for k, v in params.items()} == {
        "C1": (6, 1, 5, 5), "c1": (6,), "C2": (16, 6, 5, 5), "c2": (16,),
        "W1": (120, 400), "b1": (120,), "W2": (84, 120), "b2": (84,), "W3": (10, 84),
        "b3": (10,)}
    big = cnn_np.init_params(LENET, (64, 64), 5, (), 10, seed=1)
    assert abs(big["C2"].std() - np.sqrt(2 / (64 * 25))) < 0.02 * np.sqrt(2 / (64 * 25))
    assert ODD.feature_shapes((3, 5), 3) == [(3, 6, 4), (5, 2, 1)]
    with pytest.raises(ValueError, match="shrinks to nothing after convolution 2"):
        Arch((8, 6), (0, 0), (1, 1)).feature_shapes((4, 4), 3)
    with pytest.raises(ValueError, match="3 convolutions need as many paddings and strides"):
        ODD.feature_shapes((4, 4, 4), 3)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("arch,channels,kernel,hidden", [
    (LENET, (4, 6), 5, (32,)),
    (ODD, (3, 5), 3, (16, 8)),
    (Arch((28, 28), (1,), (1,)), (4,), 3, ()),   # one convolution, then the logits
])
def test_whole_cnn_gradients_match_autograd(arch, channels, kernel, hidden, dtype, tol):
    params = cnn_np.init_params(arch, channels, kernel, hidden, 10, seed=2, dtype=dtype)
    rng = np.random.default_rng(3)
    x = rng.random((5, int(np.prod(arch.image)))).astype(dtype)
    x[:, :40] = 0                                         # a flat border: pooling ties
    y = rng.integers(0, 10, 5)
    loss, grads = NP.loss_and_grads(NP.build(params, arch=arch), x, y, smoothing=0.1)
    loss_t, grads_t = TORCH.loss_and_grads(TORCH.build(params, arch=arch), x, y, smoothing=0.1)
    assert abs(loss - loss_t) < tol * abs(loss_t)
    assert grads.keys() == grads_t.keys() == params.keys()
    for name in params:
        assert grads[name].shape == params[name].shape and grads[name].dtype == dtype
        assert rel_err(grads[name], grads_t[name]) < tol, name


def test_both_twins_give_the_same_logits_and_round_trip_their_weights():
    params = cnn_np.init_params(LENET, (6, 16), 5, (120, 84), 10, seed=4, dtype="float64")
    x = np.random.default_rng(5).random((7, 784))
    numpy_model, torch_model = NP.build(params, arch=LENET), TORCH.build(params, arch=LENET)
    assert rel_err(NP.logits(numpy_model, x), TORCH.logits(torch_model, TORCH.asarray(x))) < 1e-12
    for twin, model in ((NP, numpy_model), (TORCH, torch_model), (NP, NP.clone(numpy_model)),
                        (TORCH, TORCH.clone(torch_model))):
        assert all(np.array_equal(twin.export(model)[k], params[k]) for k in params)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_fifty_float64_training_steps_of_both_twins_agree(mnist, optimizer):
    cfg = Config(hidden=(32,), epochs=1, batch_size=32, lr=1e-3 if optimizer == "adam" else 0.05,
                 optimizer=optimizer, dtype="float64", label_smoothing=0.1, ema=0.99, seed=6)
    dataset = subset(mnist, 50 * cfg.batch_size, 200)
    params = cnn_np.init_params(LENET, (4, 8), 5, cfg.hidden, 10, cfg.seed, "float64")
    runs = []
    for twin in (NP, TORCH):
        model = twin.build(params, arch=LENET)
        runs.append((model, loop.train(twin, model, dataset, cfg, progress=False,
                                       log=lambda *a: None)))
    (numpy_model, numpy_history), (torch_model, torch_history) = runs
    losses = np.array([numpy_history["step_losses"], torch_history["step_losses"]])
    assert losses.shape == (2, 50) and losses[0, -1] < losses[0, 0]   # it learned
    assert np.abs(losses[0] - losses[1]).max() < 1e-8
    kept_numpy, kept_torch = NP.export(numpy_model), TORCH.export(torch_model)   # averages
    assert all(rel_err(kept_numpy[k], kept_torch[k]) < 1e-8 for k in params)
    assert numpy_history["epochs"][0]["test_acc"] == torch_history["epochs"][0]["test_acc"]


# --- through the entry points ----------------------------------------------------------------

CNN = ["--model", "cnn", "--channels", "3", "4", "--hidden", "8", "--epochs", "1",
       "--batch-size", "50", "--lr", "0.01", "--schedule", "constant", "--ema", "0", "--no-progress"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from helpers import write_mnist
    return write_mnist(tmp_path_factory.mktemp("tiny_cnn"))


def test_cnn_trains_saves_and_loads_in_either_twin_and_predicts(tiny, tmp_path):
    from test_cli import run
    saved = tmp_path / "cnn.npz"
    r = run("main_np.py", *CNN, "--data-dir", str(tiny), "--save", str(saved))
    assert r.returncode == 0, r.stderr
    assert "CNN conv 3-4 5x5 (padding 2/0, pool 2), fc 8-10" in r.stdout
    params, config = weights_file.load_weights(saved)
    assert {k: v.shape for k, v in params.items()} == {
        "C1": (3, 1, 5, 5), "c1": (3,), "C2": (4, 3, 5, 5), "c2": (4,),
        "W1": (8, 100), "b1": (8,), "W2": (10, 8), "b2": (10,)}
    assert (config["model"], config["padding"], config["stride"], config["pool"]) == \
        ("cnn", [2, 0], [1, 1], 2)
    evals = [run(s, "--load", str(saved), "--eval", "--data-dir", str(tiny))   # no --model:
             for s in ("main_np.py", "main_torch.py")]                          # the file's
    assert all(e.returncode == 0 for e in evals), [e.stderr for e in evals]
    accs = [e.stdout.split("test acc ")[1] for e in evals]
    assert accs[0] == accs[1]
    r = run("predict.py", "--weights", str(saved), "--index", "3", "--data-dir", str(tiny))
    assert r.returncode == 0, r.stderr
    probs = np.array([[float(v) for v in line.replace("<", "").split()[-2:]]
                      for line in r.stdout.splitlines()[30:40]])
    assert np.allclose(probs[:, 0], probs[:, 1], atol=1e-5) and np.allclose(probs.sum(0), 1,
                                                                            atol=1e-3)


@pytest.mark.parametrize("args,code,message", [
    (["--padding", "1", "2", "3"], 2, "--padding takes one value, or one per convolution (2"),
    (["--stride", "0"], 2, "--stride must be >= 1"),
    (["--channels", "0", "4"], 2, "--channels must be positive integers"),
    (["--kernel", "0"], 2, "--kernel must be at least 1"),
    (["--kernel", "13"], 1, "the image shrinks to nothing after convolution 2"),
])
def test_bad_cnn_flags_are_one_line(tiny, args, code, message):
    from test_cli import run
    r = run("main_np.py", *CNN, "--data-dir", str(tiny), *args)
    assert r.returncode == code and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_cnn_file_without_its_structure_is_refused(tmp_path):
    params = cnn_np.init_params(LENET, (2, 3), 5, (8,), 10)
    weights_file.save_weights(tmp_path / "w.npz", params, {"dataset": "mnist", "padding": [2, 0]})
    with pytest.raises(weights_file.FileError, match="must record its data set, padding, stride and "
                                              "pool"):
        weights_file.load_weights(tmp_path / "w.npz")
    params["C2"] = params["C2"][:, :1].copy()              # 1 input channel where C1 gives 2
    weights_file.save_weights(tmp_path / "w.npz", params, {"dataset": "mnist", "padding": [2, 0],
                                                   "stride": [1, 1], "pool": 2})
    with pytest.raises(weights_file.FileError, match=r"C2 has shape \(3, 1, 5, 5\) and c2 \(3,\); "
                                              r"expected \(n, 2, 5, 5\)"):
        weights_file.load_weights(tmp_path / "w.npz")


def as_full(models_csv, readme):
    """models.csv's rows marked as a full run's, and the README's table rebuilt from them."""
    import pandas as pd
    from test_cli import run
    table = pd.read_csv(models_csv)
    table.assign(quick=False).to_csv(models_csv, index=False)
    r = run("compare.py", "--from-results", "--models", "--out", str(models_csv.parent),
            "--readme", str(readme))
    assert r.returncode == 0, r.stderr


def test_compare_models_writes_every_model_and_regenerates_its_table(mnist, tmp_path):
    from test_cli import run
    import pandas as pd
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- models:start -->\n<!-- models:end -->\nb\n")
    r = run("compare.py", "--models", "--quick", "--no-progress", "--hidden", "16",
            "--channels", "2", "3", "--out", str(tmp_path / "lc"),
            "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    # a flag for what a row fixes keeps the row's value, and says so (it was silent)
    assert "805 parameters; keeps its own hidden 1 (not --hidden 16)\n" in r.stdout
    assert "keeps its own hidden 512 256 (not --hidden 16), channels 32 64 128 (not " \
           "--channels 2 3)\n" in r.stdout
    assert "--- MLP: MLP 784-16-10, 12,730 parameters\n" in r.stdout
    table = pd.read_csv(tmp_path / "lc" / "models.csv")
    assert list(table.name.unique()) == ["softmax regression", "single neuron", "MLP", "CNN",
                                         "AlexNet-like CNN", "MLP, regularised",
                                         "CNN, regularised"]
    assert len(table) == 7 * 2 and set(table.implementation) == {"numpy", "torch"}   # 1 seed
    params = table.groupby("name").parameters.first()
    assert params["softmax regression"] == 7850 and params["single neuron"] == 785 + 20
    assert params["MLP"] == 784 * 16 + 16 + 16 * 10 + 10
    assert params["AlexNet-like CNN"] == (32 * 9 + 32 + 64 * 32 * 9 + 64 + 128 * 64 * 9 + 128
                                          + 1152 * 512 + 512 + 512 * 256 + 256 + 2570)
    assert (table[table.name == "single neuron"].loss == "softmax_mse").all()
    assert (tmp_path / "lc" / "models" / "cnn" / "accuracy.png").is_file()
    assert (tmp_path / "lc" / "models" / "cnn-regularised" / "errors.png").is_file()
    assert not (tmp_path / "lc" / "cnn").exists()        # compare.py --model cnn's folder
    text = readme.read_text()
    assert "lc/models/cnn/confusion.png)" in text and \
        "lc/models/cnn-regularised/errors.png)" in text
    assert text.startswith("a\n") and text.endswith("b\n")
    # --quick rows are held to no target; the same rows as a full run's are
    assert "| CNN " in text and "- CNN, regularised: a `--quick` run (the first 5,000" in text
    assert "Produced by `python compare.py --models --quick` (seeds 0;" in text
    assert "| test accuracy ≥ 99.20%, both twins" not in text and "**missed**" not in text
    as_full(tmp_path / "lc" / "models.csv", readme)
    table = pd.read_csv(tmp_path / "lc" / "models.csv")         # as the next run keeps it
    text = readme.read_text()
    assert "| test accuracy ≥ 99.20%, both twins" in text and "- CNN, regularised: test" in text
    assert "Produced by `python compare.py --models` (seeds 0;" in text
    before = readme.read_bytes()
    r = run("compare.py", "--from-results", "--models", "--out", str(tmp_path / "lc"),
            "--readme", str(readme))
    assert r.returncode == 0 and "models section unchanged" in r.stdout, r.stderr
    assert readme.read_bytes() == before
    # model by model: one row run again (another seed), the others kept, the table rebuilt
    r = run("compare.py", "--models", "neuron", "--quick", "--no-progress", "--seeds", "7",
            "--out", str(tmp_path / "lc"), "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    again = pd.read_csv(tmp_path / "lc" / "models.csv")
    assert list(again.name.unique()) == list(table.name.unique())
    assert set(again[again.name == "single neuron"].seed) == {7}
    kept = [t[t.name != "single neuron"].reset_index(drop=True) for t in (again, table)]
    assert kept[0].equals(kept[1])
    assert again.one_number_bound.notna().sum() == 2              # the single neuron's rows
    # and its NumPy twin from nudged starts (training/sensitivity.py), said beside its gap
    spread = again.groupby("name").self_spread.max()
    assert spread.notna().sum() == 1 and spread["single neuron"] >= 0
    as_full(tmp_path / "lc" / "models.csv", readme)
    assert f"against itself, started one float32 step away: up to " \
           f"{spread['single neuron']:.2f})" in readme.read_text()


def test_the_self_spread_is_said_in_steps_of_the_rows_dtype():
    """The nudge is one step of the trained dtype (sensitivity.nudged): a float64 row says so,
    not float32; a row without the measure says nothing."""
    import pandas as pd
    from report.models_table import spread_of
    for dtype in ("float32", "float64"):
        rows = pd.DataFrame(dict(dtype=[dtype, dtype], self_spread=[0.25, 0.5]))
        assert spread_of(rows) == (f" (the NumPy twin against itself, started one {dtype} "
                                   f"step away: up to 0.50)")
    assert spread_of(pd.DataFrame(dict(dtype=["float32"], self_spread=[float("nan")]))) == ""
    # rows written before the dtype column, or without it: the step is still said, no error
    for rows in (pd.DataFrame(dict(self_spread=[0.5])),
                 pd.DataFrame(dict(dtype=[float("nan")], self_spread=[0.5]))):
        assert spread_of(rows) == (" (the NumPy twin against itself, started one rounding "
                                   "step away: up to 0.50)")


@pytest.mark.parametrize("arch,channels,kernel,batch_norm,batch,copies", [
    (LENET, (12, 12), 5, True, 200, {"copyto", "add"}),
    (LENET, (7, 5), 5, False, 200, {"copyto", "add"}),
    (ODD, (12, 9), 3, True, 256, {"copyto"})])            # conv 2's input gradient: small
def test_the_work_split_across_threads_changes_no_number(arch, channels, kernel, batch_norm,
                                                         batch, copies, monkeypatch):
    """The CNN's per-channel layers, im2col's copy and the input gradient's adds run in blocks
    across threads (nets/threads.py): the same logits, gradients and batch statistics, to the
    bit, as on one thread; blocks of unequal size (7 and 12 channels over 3 threads) included."""
    from nets import threads
    from nets.dense_np import with_batch_norm
    params = cnn_np.init_params(arch, channels, kernel, (16,), 10, seed=6, dtype="float64")
    params = with_batch_norm(params, "float64") if batch_norm else params
    rng = np.random.default_rng(7)
    x = rng.random((batch, int(np.prod(arch.image))))
    x[:, :60] = 0                                         # pooling ties
    y = rng.integers(0, 10, batch)
    split, in_threads = [], threads.in_threads            # the layers' splits, by work
    monkeypatch.setattr(threads, "in_threads", lambda work, calls: split.append(
        (work.__name__, len(calls))) or in_threads(work, calls))
    runs = []
    try:
        for n in (1, 3):
            threads.set_num_threads(n)
            model = NP.build(params, arch=arch)
            model.training = True
            logits, caches = model.forward(NP.asarray(x))
            loss, grads = NP.loss_and_grads(model, x, y, smoothing=0.1)
            runs.append((len(caches[0][0][1]), logits, loss, grads,
                         {k: v.copy() for k, v in model.buffers.items()}))
    finally:
        threads.set_num_threads(1)
    (one_block, *single), (blocks, *threaded) = runs
    assert one_block == 1 and blocks == 3                 # conv 1's channels split on 3 threads
    assert {name for name, n in split if n == 3} == copies    # im2col's, the input gradient's
    assert np.array_equal(single[0], threaded[0]) and single[1] == threaded[1]
    for before, after in zip(single[2:], threaded[2:]):
        assert before.keys() == after.keys()
        assert all(np.array_equal(before[k], after[k]) for k in before), before.keys()
    if batch_norm:
        assert single[3]["cbn1_num_batches_tracked"] == 2  # counted once a batch, not a block
