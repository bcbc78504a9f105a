"""The twins side by side: optimizer steps and whole training runs from the same weights."""
from dataclasses import replace

import numpy as np
import pytest
import torch

import mlp_np
from conftest import rel_err
from datasets import catalog
from helpers import NP, TORCH
from nets import threads as pool
from training import loop
from training.config import Config
from training.schedule import EMA_EVERY, ema_decay_at
from twins import optim_np

OPTIMIZERS = [("sgd", 0.0), ("momentum", 0.0), ("momentum", 1e-2), ("adam", 0.0),
              ("adam", 1e-2), ("adamw", 1e-2)]


def set_torch_grads(model_t, grads):
    """Give the torch twin's parameters the gradients of a NumPy dict (W1, b1, ...)."""
    for name, w in model_t.params.items():
        w.grad = torch.from_numpy(grads[name].copy())


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("name,weight_decay", OPTIMIZERS)
@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("threads", [1, 3])
def test_optimizer_steps_match_torch_optim(name, weight_decay, steps, dtype, tol, threads,
                                           monkeypatch):
    """Same weights, same gradient sequence -> same weights after 1 and 10 steps, whether the
    NumPy update runs in one thread or in row blocks on several."""
    monkeypatch.setattr(pool, "PARALLEL_MIN_SIZE", 0)       # even these small weights
    pool.set_num_threads(threads)
    rng = np.random.default_rng(0)
    params = mlp_np.init_params((784, 12, 10), 0, dtype)
    model_np, model_t = NP.build(params), TORCH.build(params)
    opt_np = NP.optimizer(model_np, name, 0.05, 0.9, weight_decay)
    opt_t = TORCH.optimizer(model_t, name, 0.05, 0.9, weight_decay)
    for _ in range(steps):
        grads = {k: rng.standard_normal(p.shape).astype(dtype) for k, p in params.items()}
        set_torch_grads(model_t, grads)
        opt_t.step()
        opt_np.step({k: g.copy() for k, g in grads.items()})
    pool.set_num_threads(1)
    after_np, after_t = NP.export(model_np), TORCH.export(model_t)
    for k in params:
        assert not np.allclose(after_np[k], params[k])          # the step did move the weights
        assert rel_err(after_np[k], after_t[k]) < tol, k


@pytest.mark.parametrize("threads", [1, 3])
def test_weight_average_follows_its_definition_in_both_twins(threads, monkeypatch):
    """avg_t = d_t avg_{t-1} + (1 - d_t) p_t from avg_0 = p_0, with the ramped decay d_t,
    computed here in plain float64 maths, against both twins' EMA."""
    monkeypatch.setattr(pool, "PARALLEL_MIN_SIZE", 0)
    pool.set_num_threads(threads)
    rng = np.random.default_rng(5)
    cfg = Config(ema=0.9)
    params = mlp_np.init_params((784, 12, 10), 0, "float64")
    model_np, model_t = NP.build(params), TORCH.build(params)
    average_np, average_t = NP.average(model_np), TORCH.average(model_t)
    expected = {k: v.copy() for k, v in params.items()}
    for step in range(100):                                    # the cap is reached at step 80
        new = {k: rng.standard_normal(p.shape) for k, p in params.items()}
        for k in new:
            model_np.params[k][...] = new[k]
        model_t.load_state_dict(TORCH.build(new).state_dict())
        decay = ema_decay_at(cfg, step)
        average_np.update(model_np, decay)
        average_t.update(model_t, decay)
        expected = {k: decay * expected[k] + (1 - decay) * new[k] for k in new}
    pool.set_num_threads(1)
    assert ema_decay_at(cfg, 0) == 0.1 ** EMA_EVERY                # the ramp's start
    assert ema_decay_at(cfg, 99) == 0.9 ** EMA_EVERY               # and its cap, cfg.ema
    for twin, average in ((NP, average_np), (TORCH, average_t)):
        got = twin.export(average.model)
        for k in params:
            assert rel_err(got[k], expected[k]) < 1e-12, k
    average_t.copy_to(model_t)                                  # the kept weights: the average
    assert all(rel_err(TORCH.export(model_t)[k], expected[k]) < 1e-12 for k in params)


def subset(mnist, n_train, n_test=1000, dtype="float64"):
    return catalog.Dataset(mnist.x_train[:n_train].astype(dtype), mnist.y_train[:n_train],
                        mnist.x_val.astype(dtype), mnist.y_val,
                        mnist.x_test[:n_test].astype(dtype), mnist.y_test[:n_test],
                        mnist.folder, mnist.spec)


def run(twin, params, dataset, cfg):
    model = twin.build(params)
    return model, loop.train(twin, model, dataset, cfg, progress=False, log=lambda *a: None)


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-3), ("momentum", 0.05)])
def test_training_losses_agree_step_by_step_float64(mnist, optimizer, lr):
    """Same initial weights, same batches: 50 steps whose losses agree to 1e-8."""
    cfg = Config(hidden=(64, 32), epochs=1, batch_size=64, lr=lr, optimizer=optimizer,
                 dtype="float64", seed=3, weight_decay=1e-4, label_smoothing=0.0)
    dataset = subset(mnist, 50 * 64)
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    model_np, hist_np = run(NP, params, dataset, cfg)
    model_t, hist_t = run(TORCH, params, dataset, cfg)
    losses_np, losses_t = np.array(hist_np["step_losses"]), np.array(hist_t["step_losses"])
    assert len(losses_np) == len(losses_t) == 50
    assert losses_np[-10:].mean() < 0.6 * losses_np[:10].mean()    # it did learn
    assert np.abs(losses_np - losses_t).max() < 1e-8
    assert hist_np["epochs"][0]["test_acc"] == hist_t["epochs"][0]["test_acc"]


def test_smoothed_averaged_training_agrees_and_keeps_the_average(mnist):
    """Label smoothing and the weight average, float64: the twins' losses agree step by step,
    their kept weights agree, and the average is only evaluated: it changes the kept weights
    and the reported accuracy, never the training itself."""
    cfg = Config(hidden=(32,), epochs=2, batch_size=64, lr=1e-3, dtype="float64", seed=4,
                 label_smoothing=0.1, ema=0.95)
    dataset = subset(mnist, 20 * 64)
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    model_np, hist_np = run(NP, params, dataset, cfg)
    model_t, hist_t = run(TORCH, params, dataset, cfg)
    assert np.abs(np.subtract(hist_np["step_losses"], hist_t["step_losses"])).max() < 1e-8
    assert [e["test_acc"] for e in hist_np["epochs"]] == [e["test_acc"] for e in hist_t["epochs"]]
    kept_np, kept_t = NP.export(model_np), TORCH.export(model_t)
    assert all(rel_err(kept_np[k], kept_t[k]) < 1e-10 for k in params)

    raw_model, raw = run(NP, params, dataset, replace(cfg, ema=0.0))
    assert raw["step_losses"] == hist_np["step_losses"]         # the average never trains
    assert not np.allclose(NP.export(raw_model)["W1"], kept_np["W1"])
    _, test_acc = loop.evaluate(NP, model_np, dataset.x_test, dataset.y_test)
    assert test_acc == hist_np["epochs"][-1]["test_acc"]        # the kept model was evaluated
    # the first step's loss, smoothed, in plain NumPy from the initial weights
    first = catalog.batch_order(len(dataset.y_train), cfg.batch_size, cfg.seed, 1)[0]
    x, y = dataset.x_train[first], dataset.y_train[first]
    logits = np.maximum(x @ params["W1"].T + params["b1"], 0) @ params["W2"].T + params["b2"]
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    smoothed = (0.9 * -log_p[np.arange(len(y)), y] + 0.1 * -log_p.mean(1)).mean()
    assert abs(hist_np["step_losses"][0] - smoothed) < 1e-12


def test_short_real_run_learns(mnist):
    cfg = Config(hidden=(128,), epochs=1, batch_size=64, lr=2e-3, schedule="constant",
                 dtype="float32")
    dataset = subset(mnist, 10_000, n_test=10_000, dtype="float32")
    params = mlp_np.init_params(cfg.sizes(), 0, cfg.dtype)
    for twin in (NP, TORCH):
        _, history = run(twin, params, dataset, cfg)
        assert history["epochs"][0]["test_acc"] > 0.9, twin.name


@pytest.fixture
def subnormals_on():
    """The CPU's flush-to-zero mode off in this thread (twins.load_twin turns it on for torch;
    with it on, NumPy would see every subnormal as 0 and these tests could not fail)."""
    torch.set_flush_denormal(False)
    yield


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flush_subnormals_zeroes_exactly_the_subnormal_entries(dtype, subnormals_on):
    tiny = np.finfo(dtype).tiny
    a = np.array([0.0, tiny, -tiny, tiny / 2, -tiny / 3, tiny / 2**20, 1e-3, -5.0], dtype)
    optim_np.flush_subnormals(a)
    assert a.tolist() == [0.0, tiny, -tiny, 0.0, 0.0, 0.0, np.float64(np.array(1e-3, dtype)), -5.0]


def test_adam_moments_of_silent_weights_are_flushed_and_the_weights_still_match_torch(
        subnormals_on):
    """Weights whose gradient stays 0 (as for a border pixel) see m shrink by 0.9 per step
    into the subnormal range. torch, without flush-to-zero, keeps them there; the NumPy Adam
    flushes them every FLUSH_EVERY steps, and the weights agree all the same."""
    rng = np.random.default_rng(1)
    params = mlp_np.init_params((784, 12, 10), 0, "float32")
    model_np, model_t = NP.build(params), TORCH.build(params)
    opt_np = NP.optimizer(model_np, "adam", 1e-3)
    opt_t = TORCH.optimizer(model_t, "adam", 1e-3)
    silent = rng.random(params["W1"].shape) < 0.5
    for step in range(900):             # m = 0.1 * 0.9^890 is subnormal (0 after ~980)
        grads = {k: (rng.standard_normal(p.shape) if step < 10 else np.zeros(p.shape))
                 .astype("float32") for k, p in params.items()}
        grads["W1"][~silent] = rng.standard_normal((~silent).sum())
        set_torch_grads(model_t, grads)
        opt_t.step()
        opt_np.step(grads)
    subnormals = lambda a: ((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)).sum()
    assert subnormals(opt_t.state[model_t.params["W1"]]["exp_avg"].numpy()) > 1000
    assert subnormals(opt_np.m["W1"]) == 0                      # torch's are, the NumPy ones not
    after_np, after_t = NP.export(model_np), TORCH.export(model_t)
    assert all(rel_err(after_np[k], after_t[k]) < 1e-5 for k in params)
