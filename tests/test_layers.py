"""The convolutional layers of nets/layers_np.py, each alone against torch autograd (random upstream
gradients; float64 < 1e-10 relative, float32 < 1e-4) and against central finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nets.layers_np as L
from nets.losses_np import LOSSES
from conftest import rel_err

TOL = {np.float64: 1e-10, np.float32: 1e-4}


def to_torch(x_chwb):
    """Ours (C, H, W, B) -> torch's (B, C, H, W), a leaf that records its gradient."""
    return torch.tensor(ours_to_bchw(x_chwb), requires_grad=True)


def ours_to_bchw(x_chwb):
    return x_chwb.transpose(3, 0, 1, 2).copy()


def ours(t_bchw):
    """Torch's (B, C, H, W) -> ours (C, H, W, B)."""
    return t_bchw.detach().numpy().transpose(1, 2, 3, 0)


CONV_CASES = [  # B, C_in, H, W, C_out, k, stride, padding
    (2, 3, 7, 9, 4, 3, 1, 0),        # non-square
    (2, 3, 8, 6, 5, 3, 2, 1),        # strided and padded
    (1, 1, 28, 28, 6, 5, 1, 2),      # batch 1, LeNet's first layer
    (3, 6, 14, 14, 16, 5, 1, 0),     # LeNet's second
    (2, 2, 9, 7, 3, 4, 3, 2),        # even kernel, stride 3, windows that skip pixels
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_autograd(case, dtype):
    B, C, H, W, C_out, k, stride, padding = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((C, H, W, B)).astype(dtype)
    K = rng.standard_normal((C_out, C, k, k)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype)
    out, cache = L.conv2d_forward(x, K, b, stride, padding)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dK, db = L.conv2d_backward(dout, cache)
    xt = to_torch(x)
    Kt, bt = torch.tensor(K, requires_grad=True), torch.tensor(b, requires_grad=True)
    ot = F.conv2d(xt, Kt, bt, stride=stride, padding=padding)
    ot.backward(torch.tensor(ours_to_bchw(dout)))
    assert out.shape == ours(ot).shape and out.dtype == dtype and dx.dtype == dtype
    assert rel_err(out, ours(ot)) < TOL[dtype]
    assert rel_err(dx, ours(xt.grad)) < TOL[dtype] and dx.shape == x.shape
    assert rel_err(dK, Kt.grad) < TOL[dtype] and rel_err(db, bt.grad) < TOL[dtype]


POOL_CASES = [  # B, C, H, W, k, stride
    (2, 3, 8, 8, 2, 2),               # LeNet's
    (2, 2, 9, 7, 3, 2),               # overlapping windows, non-square
    (1, 1, 6, 6, 3, 1),               # batch 1, every pixel in up to 9 windows
    (3, 2, 7, 5, 2, 3),               # stride past the kernel: pixels in no window
]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_matches_autograd_ties_included(case, dtype, ties):
    B, C, H, W, k, stride = case
    rng = np.random.default_rng(sum(case))
    x = (rng.integers(0, 3, (C, H, W, B)) if ties else rng.standard_normal((C, H, W, B)))
    x = x.astype(dtype)
    if ties:
        x[..., 0] = 0                                     # a flat background, as MNIST's
    out, cache = L.maxpool2d_forward(x, k, stride)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = L.maxpool2d_backward(dout, cache)
    xt = to_torch(x)
    ot = F.max_pool2d(xt, k, stride)
    ot.backward(torch.tensor(ours_to_bchw(dout)))
    assert np.array_equal(out, ours(ot))                  # a maximum is exact
    assert rel_err(dx, ours(xt.grad)) < TOL[dtype]
    if ties:                                              # the tie rule really was exercised
        w = L.windows(x, k, stride).reshape(C, k * k, *out.shape[1:])
        assert ((w == out[:, None]).sum(axis=1) > 1).mean() > 0.2


@pytest.mark.parametrize("k, stride", [(2, 2), (3, 2)])
def test_pool_then_relu_is_relu_then_pool_in_value_and_gradient(k, stride):
    """cnn_np pools before its ReLU (a quarter of the work): torch's ReLU-then-pool gives the
    same outputs and the same input gradient, ties on a flat background included."""
    rng = np.random.default_rng(k)
    x = rng.integers(-2, 3, (4, 3, 9, 9)).astype(np.float64)     # ties, positive and not
    x[:, :, :4] = 0.5                                             # flat windows above zero
    dout = torch.tensor(rng.standard_normal((4, 3, 4, 4)))
    grads = []
    for order in (lambda t: F.max_pool2d(F.relu(t), k, stride),
                  lambda t: F.relu(F.max_pool2d(t, k, stride))):
        xt = torch.tensor(x, requires_grad=True)
        out = order(xt)
        out.backward(dout[..., :out.shape[2], :out.shape[3]])
        grads.append((out.detach(), xt.grad))
    (out_a, grad_a), (out_b, grad_b) = grads
    assert torch.equal(out_a, out_b) and torch.equal(grad_a, grad_b)
    assert (grad_a != 0).sum() > 10                               # not vacuous


def test_flatten_is_torchs_order_and_its_backward_undoes_it():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5, 2)    # (C, H, W, B)
    flat, shape = L.flatten_forward(x)
    assert np.array_equal(flat.T, torch.nn.Flatten()(torch.tensor(ours_to_bchw(x))).numpy())
    assert np.array_equal(L.flatten_backward(flat, shape), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_match_autograd_without_overflow(name, dtype):
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.standard_normal(200) * 4, [-1e4, -80.0, 0.0, 80.0, 1e4]]).astype(dtype)
    forward, backward = getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward")
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        out, cache = forward(z.copy())
        dz = backward(np.ones_like(z) * 0.7, cache)
    zt = torch.tensor(z, requires_grad=True)
    ot = getattr(torch, name)(zt)
    ot.backward(torch.full_like(zt, 0.7))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dz))
    assert rel_err(out, ot.detach()) < TOL[dtype] and rel_err(dz, zt.grad) < TOL[dtype]


@pytest.mark.parametrize("scale", [1.0, 1e4])
@pytest.mark.parametrize("loss", ["mse", "softmax_mse"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_squared_errors_against_one_hot_match_autograd(dtype, smoothing, loss, scale):
    rng = np.random.default_rng(2)
    out = (scale * rng.standard_normal((16, 10))).astype(dtype)
    y = rng.integers(0, 10, 16)
    forward, backward = LOSSES[loss]
    before = out.copy()
    value, cache = forward(out, y, smoothing)
    dout = backward(1.0, cache)
    ot = torch.tensor(out, requires_grad=True)
    targets = F.one_hot(torch.tensor(y), 10).to(ot.dtype) * (1 - smoothing) + smoothing / 10
    lt = F.mse_loss(ot if loss == "mse" else F.softmax(ot, dim=1), targets)
    lt.backward()
    assert np.all(np.isfinite(dout)) and np.isfinite(value)
    assert rel_err(value, lt.item()) < TOL[dtype] and rel_err(dout, ot.grad) < TOL[dtype]
    assert np.array_equal(out, before)                                     # input untouched


# --- central finite differences, no torch ----------------------------------------------------

def numerical(f, a, eps=1e-6):
    """d f / d a by central differences, entry by entry (float64)."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        grad[i] = (up - f()) / (2 * eps)
        a[i] = keep
    return grad


def test_conv2d_gradients_against_finite_differences():
    rng = np.random.default_rng(3)
    x, K, b = rng.standard_normal((2, 6, 5, 2)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal(3)
    dout = rng.standard_normal(L.conv2d_forward(x, K, b, 2, 1)[0].shape)
    loss = lambda: float((L.conv2d_forward(x, K, b, 2, 1)[0] * dout).sum())
    dx, dK, db = L.conv2d_backward(dout, L.conv2d_forward(x, K, b, 2, 1)[1])
    for analytic, param in ((dx, x), (dK, K), (db, b)):
        assert rel_err(analytic, numerical(loss, param)) < 1e-7


def test_maxpool2d_gradient_against_finite_differences():
    rng = np.random.default_rng(4)
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 7, 6, 2) / 10.0   # distinct: differentiable
    dout = rng.standard_normal(L.maxpool2d_forward(x, 3, 2)[0].shape)
    loss = lambda: float((L.maxpool2d_forward(x, 3, 2)[0] * dout).sum())
    dx = L.maxpool2d_backward(dout, L.maxpool2d_forward(x, 3, 2)[1])
    assert rel_err(dx, numerical(loss, x)) < 1e-7
