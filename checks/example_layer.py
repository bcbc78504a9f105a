"""A layer of your own as `python gradcheck.py checks/example_layer.py` wants it: softplus,
a = log(1 + e^z), elementwise. Copy this file, write your layer's four functions, check it."""
import numpy as np


def forward(z):
    """z (any shape) -> a = log(1 + e^z) (z's shape), and what backward needs: z itself."""
    a = np.logaddexp(0, z)                # log(e^0 + e^z), which never overflows
    return a, z


def backward(da, z):
    """da (a's shape) -> dz: d log(1 + e^z) / dz = e^z / (1 + e^z) = sigmoid(z)."""
    return da / (1 + np.exp(-z))


def reference(z):
    """The same layer in torch, on a tensor: autograd differentiates it."""
    import torch.nn.functional as F
    return F.softplus(z)


def inputs(rng):
    """Random inputs for one check, a tuple (z,): shapes vary from check to check."""
    return (3 * rng.standard_normal((int(rng.integers(1, 9)), int(rng.integers(1, 9)))),)
