"""Every layer the project writes by hand, in gradcheck's contract (checks/gradcheck.py): its
forward and backward as the networks call them, a torch reference on the same layout (one
column per image, images as (C, H, W, B)), and random inputs of varied shapes, batch 1 among
them. `python gradcheck.py` checks them all; so do the layer tests."""
import numpy as np
import torch
import torch.nn.functional as F

import mlp_np
from checks.gradcheck import Layer
from nets import layers_np as L
from nets import losses_np as losses


def shape(rng, low=1, high=9):
    return int(rng.integers(low, high))


def to_nchw(t):
    return t.permute(3, 0, 1, 2)                  # (C, H, W, B) -> (B, C, H, W)


def from_nchw(t):
    return t.permute(1, 2, 3, 0)


def dense(rng):
    return (rng.standard_normal((shape(rng, 2), shape(rng))),)      # (n, B)


def images(rng):
    return (rng.standard_normal((shape(rng, 1, 4), shape(rng, 3, 9), shape(rng, 3, 9),
                                 shape(rng, 1, 4))),)                # (C, H, W, B)


def elementwise(name, forward, backward, reference, inputs=dense):
    return Layer(name, forward, lambda d, c: (backward(d, c),), reference, inputs, ("dz",))


def linear(rng):
    n_in, n_out, B = shape(rng), shape(rng), shape(rng)
    return (rng.standard_normal((n_in, B)), rng.standard_normal((n_out, n_in)),
            rng.standard_normal(n_out))


def conv(stride, padding):
    def inputs(rng):
        c_in, c_out, k = shape(rng, 1, 4), shape(rng, 1, 4), shape(rng, 1, 4)
        size = lambda: shape(rng, k + 1, k + 8)
        return (rng.standard_normal((c_in, size(), size(), shape(rng, 1, 4))),
                rng.standard_normal((c_out, c_in, k, k)), rng.standard_normal(c_out))
    return Layer(f"conv2d stride {stride} padding {padding}",
                 lambda x, K, b: L.conv2d_forward(x, K, b, stride, padding),
                 lambda d, c: L.conv2d_backward(d, c),
                 lambda x, K, b: from_nchw(F.conv2d(to_nchw(x), K, b, stride, padding)),
                 inputs, ("dx", "dK", "db"))


def pool(k, stride):
    def inputs(rng):
        size = lambda: shape(rng, k, k + 7)
        # distinct values: at a tie the finite differences split what either gradient sends to
        # one pixel (tests/test_layers.py holds ties against torch)
        return (rng.standard_normal((shape(rng, 1, 4), size(), size(), shape(rng, 1, 4))),)
    return Layer(f"max-pool {k} stride {stride}", lambda x: L.maxpool2d_forward(x, k, stride),
                 lambda d, c: (L.maxpool2d_backward(d, c),),
                 lambda x: from_nchw(F.max_pool2d(to_nchw(x), k, stride)), inputs, ("dx",))


def batch_norm(training, conv):
    momentum = 0.1
    def forward(x, gamma, beta):
        stats = (np.full(x.shape[0], 0.3, x.dtype), np.full(x.shape[0], 1.7, x.dtype))
        return L.batchnorm_forward(x, gamma, beta, *stats, training, momentum)
    def reference(x, gamma, beta):
        t = to_nchw(x) if conv else x.T
        stats = (torch.full((x.shape[0],), 0.3, dtype=x.dtype),
                 torch.full((x.shape[0],), 1.7, dtype=x.dtype))
        out = F.batch_norm(t, *stats, gamma, beta, training, momentum, 1e-5)
        return from_nchw(out) if conv else out.T
    def inputs(rng):
        x = (images if conv else dense)(rng)[0]
        if training and not conv and x.shape[1] < 3:  # torch refuses one value per channel;
            x = rng.standard_normal((x.shape[0], shape(rng, 3)))  # two normalise to +-1
        n = x.shape[0]
        return x, 1 + 0.5 * rng.standard_normal(n), rng.standard_normal(n)
    mode = "training" if training else "evaluation"
    return Layer(f"batch norm {'2d' if conv else '1d'}, {mode}", forward,
                 L.batchnorm_backward, reference, inputs, ("dx", "dgamma", "dbeta"))


def dropout(p):
    def forward(x):
        keep = np.random.default_rng(x.size).random(x.shape) >= p
        return L.dropout_forward(x, (keep / (1 - p)).astype(x.dtype))
    def reference(x):
        keep = np.random.default_rng(x.numel()).random(tuple(x.shape)) >= p
        return x * torch.from_numpy((keep / (1 - p)).astype(np.float32 if x.dtype ==
                                                            torch.float32 else np.float64))
    return elementwise(f"dropout {p:g}", forward, L.dropout_backward, reference)


def loss(name, forward, backward, reference):
    def inputs(rng):
        return (3 * rng.standard_normal((shape(rng, 1, 12), 10)),)       # logits (B, C)
    labels = lambda B: np.random.default_rng(B).integers(0, 10, B)
    return Layer(name, lambda z: forward(z, labels(len(z)), 0.1),
                 lambda d, c: (backward(d, c),),
                 lambda z: reference(z, torch.from_numpy(labels(len(z)))), inputs, ("dlogits",))


def mse_reference(z, y):
    return F.mse_loss(z, F.one_hot(y, 10).to(z.dtype) * 0.9 + 0.01)


LAYERS = [
    Layer("linear", mlp_np.linear_forward, mlp_np.linear_backward,
          lambda x, W, b: W @ x + b[:, None], linear),
    elementwise("relu", mlp_np.relu_forward, mlp_np.relu_backward, torch.relu),
    elementwise("sigmoid", L.sigmoid_forward, L.sigmoid_backward, torch.sigmoid),
    elementwise("tanh", L.tanh_forward, L.tanh_backward, torch.tanh),
    elementwise("leaky relu", L.leaky_relu_forward, L.leaky_relu_backward, F.leaky_relu),
    loss("softmax cross-entropy, smoothing 0.1", mlp_np.cross_entropy_forward,
         mlp_np.cross_entropy_backward,
         lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1)),
    loss("squared error, smoothing 0.1", losses.mse_forward, losses.mse_backward, mse_reference),
    loss("softmax squared error, smoothing 0.1", losses.softmax_mse_forward,
         losses.softmax_mse_backward, lambda z, y: mse_reference(F.softmax(z, dim=1), y)),
    conv(1, 0), conv(2, 1), conv(1, 2),
    pool(2, 2), pool(3, 2),
    elementwise("flatten", L.flatten_forward, L.flatten_backward,
                lambda x: x.reshape(-1, x.shape[-1]), images),
    batch_norm(True, False), batch_norm(False, False),
    batch_norm(True, True), batch_norm(False, True),
    dropout(0.0), dropout(0.5),
]
