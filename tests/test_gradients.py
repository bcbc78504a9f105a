"""The hand-written NumPy backward pass against torch autograd, on the same weights."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mlp_np
from conftest import rel_err
from helpers import NP, TORCH

TOL = {"float64": 1e-10, "float32": 1e-4}
DTYPES = ["float64", "float32"]


def t(a):
    return torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_linear_backward_matches_autograd(dtype, seed):
    rng = np.random.default_rng(seed)
    B, n_in, n_out = rng.integers(1, 40, size=3)
    x, W, b = (rng.standard_normal(s).astype(dtype) for s in ((n_in, B), (n_out, n_in), (n_out,)))
    dout = rng.standard_normal((n_out, B)).astype(dtype)      # random: ones would hide transposes
    out, cache = mlp_np.linear_forward(x, W, b)
    dx, dW, db = mlp_np.linear_backward(dout, cache)
    xt, Wt, bt = t(x), t(W), t(b)
    out_t = Wt @ xt + bt[:, None]                              # one column per image
    out_t.backward(torch.from_numpy(dout))
    assert rel_err(out, out_t.detach()) < TOL[dtype]
    for mine, ref in ((dx, xt.grad), (dW, Wt.grad), (db, bt.grad)):
        assert mine.shape == tuple(ref.shape)
        assert rel_err(mine, ref) < TOL[dtype]
    assert mlp_np.linear_backward(dout, cache, need_dx=False)[0] is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_matches_autograd_including_exact_zeros(dtype):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((17, 23)).astype(dtype)
    z[rng.random(z.shape) < 0.2] = 0.0                         # ReLU'(0): torch takes 0
    dh = rng.standard_normal(z.shape).astype(dtype)
    zt = t(z)
    torch.relu(zt).backward(torch.from_numpy(dh))
    h, cache = mlp_np.relu_forward(z.copy())
    dz = mlp_np.relu_backward(dh.copy(), cache)
    assert np.array_equal(h, torch.relu(torch.from_numpy(z)).numpy())
    assert np.array_equal(dz, zt.grad.numpy())                 # a mask times dh: exact
    assert np.all(dz[z == 0] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])            # up to very confident logits
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.7])
def test_cross_entropy_matches_autograd(dtype, scale, smoothing):
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((32, 10)) * scale).astype(dtype)
    y = rng.integers(0, 10, 32)
    dloss = float(rng.standard_normal())                       # random upstream, not 1
    loss, cache = mlp_np.cross_entropy_forward(logits.copy(), y, smoothing)
    dlogits = mlp_np.cross_entropy_backward(dloss, cache)
    lt = t(logits)
    loss_t = F.cross_entropy(lt, torch.from_numpy(y), label_smoothing=smoothing)
    loss_t.backward(torch.tensor(dloss, dtype=lt.dtype))
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    assert rel_err(loss, loss_t.detach()) < TOL[dtype]
    assert rel_err(dlogits, lt.grad) < TOL[dtype]


def random_architecture(rng):
    depth = rng.integers(1, 5)                                  # 1 to 4 hidden layers
    return (784, *rng.integers(1, 64, size=depth), 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_network_gradients_match_autograd(dtype, seed):
    rng = np.random.default_rng(100 + seed)
    sizes = random_architecture(rng)
    params = mlp_np.init_params(sizes, seed, dtype)
    x = rng.random((int(rng.integers(1, 50)), 784)).astype(dtype)
    y = rng.integers(0, 10, len(x))
    smoothing = [0.0, 0.1][seed % 2]
    loss_np, grads_np = NP.loss_and_grads(NP.build(params), x, y, smoothing)
    loss_t, grads_t = TORCH.loss_and_grads(TORCH.build(params), x, y, smoothing)
    assert isinstance(loss_np, float) and isinstance(loss_t, float)
    assert rel_err(loss_np, loss_t) < TOL[dtype]
    assert grads_np.keys() == grads_t.keys() == params.keys()
    for name in params:
        assert grads_np[name].shape == params[name].shape == grads_t[name].shape
        assert grads_np[name].dtype == np.dtype(dtype)
        assert rel_err(grads_np[name], grads_t[name]) < TOL[dtype], name


def test_network_with_dead_units_and_confident_logits():
    """Hidden pre-activations of exactly 0 and logits of about ±1e4 in one network."""
    rng = np.random.default_rng(7)
    params = mlp_np.init_params((784, 16, 10), 0, "float64")
    params["W1"][:4] = 0.0                                      # units 0-3: z = b = 0 exactly
    params["W2"] *= 3e3                                         # huge logits
    x = rng.random((20, 784))
    y = rng.integers(0, 10, 20)
    loss_np, grads_np = NP.loss_and_grads(NP.build(params), x, y)
    loss_t, grads_t = TORCH.loss_and_grads(TORCH.build(params), x, y)
    assert np.abs(NP.logits(NP.build(params), x)).max() > 1e3
    assert np.isfinite(loss_np) and rel_err(loss_np, loss_t) < 1e-10
    for name in params:
        assert np.all(np.isfinite(grads_np[name]))
        assert rel_err(grads_np[name], grads_t[name]) < 1e-10, name
    assert np.all(grads_np["W1"][:4] == 0) and np.all(grads_np["b1"][:4] == 0)


@pytest.mark.parametrize("sizes,smoothing", [((784, 7, 10), 0.0), ((784, 6, 5, 10), 0.0),
                                             ((784, 7, 10), 0.2)])
def test_backward_matches_finite_differences(sizes, smoothing):
    """Central differences of the NumPy loss alone: no torch involved."""
    rng = np.random.default_rng(3)
    params = mlp_np.init_params(sizes, 3, "float64")
    for k in params:                                            # nonzero biases too
        params[k] += 0.1 * rng.standard_normal(params[k].shape)
    x, y = rng.random((8, 784)), rng.integers(0, 10, 8)
    _, grads = NP.loss_and_grads(NP.build(params), x, y, smoothing)
    h = 1e-6
    for name, p in params.items():
        for flat in rng.choice(p.size, size=min(p.size, 25), replace=False):
            idx = np.unravel_index(flat, p.shape)
            old = p[idx]
            p[idx] = old + h
            up = NP.loss_and_grads(NP.build(params), x, y, smoothing)[0]
            p[idx] = old - h
            down = NP.loss_and_grads(NP.build(params), x, y, smoothing)[0]
            p[idx] = old
            numeric = (up - down) / (2 * h)
            assert abs(numeric - grads[name][idx]) < 1e-7 + 1e-5 * abs(numeric), (name, idx)
