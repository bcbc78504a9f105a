"""The twins side by side: optimizer steps and whole training runs from the same weights."""
import numpy as np
import pytest
import torch

import data
import mlp_np
import mlp_torch
import train
from config import Config
from conftest import rel_err

OPTIMIZERS = [("sgd", 0.0), ("momentum", 0.0), ("momentum", 1e-2), ("adam", 0.0),
              ("adam", 1e-2), ("adamw", 1e-2)]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("name,weight_decay", OPTIMIZERS)
@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("threads", [1, 3])
def test_optimizer_steps_match_torch_optim(name, weight_decay, steps, dtype, tol, threads,
                                           monkeypatch):
    """Same weights, same gradient sequence -> same weights after 1 and 10 steps, whether the
    NumPy update runs in one thread or in row blocks on several."""
    monkeypatch.setattr(mlp_np, "PARALLEL_MIN_SIZE", 0)       # even these small weights
    mlp_np.set_num_threads(threads)
    rng = np.random.default_rng(0)
    params = mlp_np.init_params((784, 12, 10), 0, dtype)
    model_np, model_t = mlp_np.MLP(params), mlp_torch.MLP(params)
    opt_np = mlp_np.make_optimizer(model_np, name, 0.05, 0.9, weight_decay)
    opt_t = mlp_torch.make_optimizer(model_t, name, 0.05, 0.9, weight_decay)
    for _ in range(steps):
        grads = {k: rng.standard_normal(p.shape).astype(dtype) for k, p in params.items()}
        for i, layer in enumerate(model_t.layers, start=1):
            layer.weight.grad = torch.from_numpy(grads[f"W{i}"].T.copy())
            layer.bias.grad = torch.from_numpy(grads[f"b{i}"].copy())
        opt_t.step()
        opt_np.step({k: g.copy() for k, g in grads.items()})
    mlp_np.set_num_threads(1)
    after_np, after_t = model_np.params(), model_t.params()
    for k in params:
        assert not np.allclose(after_np[k], params[k])          # the step did move the weights
        assert rel_err(after_np[k], after_t[k]) < tol, k


def subset(mnist, n_train, n_test=1000, dtype="float64"):
    return data.MNIST(mnist.x_train[:n_train].astype(dtype), mnist.y_train[:n_train],
                      mnist.x_val.astype(dtype), mnist.y_val,
                      mnist.x_test[:n_test].astype(dtype), mnist.y_test[:n_test], mnist.folder)


def run(twin, params, dataset, cfg):
    model = twin.MLP(params)
    return model, train.train(twin, model, dataset, cfg, progress=False, log=lambda *a: None)


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-3), ("momentum", 0.05)])
def test_training_losses_agree_step_by_step_float64(mnist, optimizer, lr):
    """Same initial weights, same batches: 50 steps whose losses agree to 1e-8."""
    cfg = Config(hidden=(64, 32), epochs=1, batch_size=64, lr=lr, optimizer=optimizer,
                 dtype="float64", seed=3, weight_decay=1e-4)
    dataset = subset(mnist, 50 * 64)
    params = mlp_np.init_params(cfg.sizes(), cfg.seed, cfg.dtype)
    model_np, hist_np = run(mlp_np, params, dataset, cfg)
    model_t, hist_t = run(mlp_torch, params, dataset, cfg)
    losses_np, losses_t = np.array(hist_np["step_losses"]), np.array(hist_t["step_losses"])
    assert len(losses_np) == len(losses_t) == 50
    assert losses_np[-10:].mean() < 0.6 * losses_np[:10].mean()    # it did learn
    assert np.abs(losses_np - losses_t).max() < 1e-8
    assert hist_np["epochs"][0]["test_acc"] == hist_t["epochs"][0]["test_acc"]


def test_short_real_run_learns(mnist):
    cfg = Config(hidden=(128,), epochs=1, batch_size=64, lr=2e-3, schedule="constant",
                 dtype="float32")
    dataset = subset(mnist, 10_000, n_test=10_000, dtype="float32")
    params = mlp_np.init_params(cfg.sizes(), 0, cfg.dtype)
    for twin in (mlp_np, mlp_torch):
        _, history = run(twin, params, dataset, cfg)
        assert history["epochs"][0]["test_acc"] > 0.9, twin.__name__
