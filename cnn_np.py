"""A convolutional network written by hand in NumPy, from the layers of layers_np.py.

    image -> [conv k x k -> max-pool -> ReLU] per convolution -> flatten -> ReLU MLP -> logits

Max-pool then ReLU is LeNet's ReLU then max-pool on a quarter of the pixels: the same outputs,
as ReLU and the maximum commute, and the same gradients (a window whose maximum is positive
sends its gradient to the same first maximum either way; any other window sends none), which
tests/test_cnn.py checks against torch, ties included.

The weights contract, as the MLP's (mlp_np.py) and read by cnn_torch.py alike:
    C_j   (c_j, c_{j-1}, k, k)   the kernels of convolution j (c_0 = 1, the grey image)
    c_j   (c_j,)                 their biases
    W_i   (n_i, n_{i-1})         the fully connected layers, W_1 taking the flattened
    b_i   (n_i,)                 (c_n, H_n, W_n) activations in torch's order
Shapes for a batch of B images of H x W pixels: x (B, H W) as the data sets give them, y (B,),
logits (B, classes). Inside, images are (C, H, W, B) (see layers_np.py) and the fully connected
layers work on columns, as mlp_np.MLP.
"""
from dataclasses import dataclass

import numpy as np

from layers_np import (conv2d_backward, conv2d_forward, flatten_backward,
                       flatten_forward, linear_backward, linear_forward, maxpool2d_backward,
                       maxpool2d_forward, relu_backward, relu_forward)
from mlp_np import Network


@dataclass(frozen=True)
class Arch:
    """What the weights do not say about a CNN: the image and how each convolution moves."""
    image: tuple             # (H, W) of the input images
    padding: tuple           # zero padding of each convolution
    stride: tuple            # stride of each convolution
    pool: int = 2            # max-pool kernel and stride after each convolution

    def feature_shapes(self, channels, kernel):
        """(C, H, W) after each convolution's pooling, for convolutions of `channels` outputs."""
        if not len(channels) == len(self.padding) == len(self.stride):
            raise ValueError(f"{len(channels)} convolutions need as many paddings and strides, "
                             f"got {self.padding} and {self.stride}")
        H, W = self.image
        shapes = []
        for c, p, s in zip(channels, self.padding, self.stride):
            H, W = (H + 2 * p - kernel) // s + 1, (W + 2 * p - kernel) // s + 1
            H, W = (H - self.pool) // self.pool + 1, (W - self.pool) // self.pool + 1
            if H < 1 or W < 1:
                raise ValueError(f"the image shrinks to nothing after convolution "
                                 f"{len(shapes) + 1} (kernel {kernel}, padding {p}, stride "
                                 f"{s}, pool {self.pool})")
            shapes.append((c, H, W))
        return shapes


def init_params(arch, channels, kernel, hidden, n_classes, seed=0, dtype="float32"):
    """He initialisation, fan_in = in_channels k k for a kernel and n_in for a linear layer;
    biases 0. Drawn in float64 from one NumPy generator, then cast.
    -> {"C1": (c_1, 1, k, k), "c1": (c_1,), ..., "W1": (n_1, c_n H_n W_n), "b1", ...}"""
    rng = np.random.default_rng(seed)
    params = {}
    for j, (c_in, c_out) in enumerate(zip((1, *channels), channels), start=1):
        fan_in = c_in * kernel * kernel
        C = rng.standard_normal((c_out, c_in, kernel, kernel)) * np.sqrt(2 / fan_in)
        params[f"C{j}"], params[f"c{j}"] = C.astype(dtype), np.zeros(c_out, dtype)
    flat = int(np.prod(arch.feature_shapes(channels, kernel)[-1]))
    sizes = (flat, *hidden, n_classes)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = rng.standard_normal((n_out, n_in)) * np.sqrt(2 / n_in)
        params[f"W{i}"], params[f"b{i}"] = W.astype(dtype), np.zeros(n_out, dtype)
    return params


class CNN(Network):
    """The network of `params` (see init_params) and `arch`, trained with the loss called
    `loss` (layers_np.LOSSES); xp=cupy keeps it on the GPU."""

    def __init__(self, params, arch, xp=np, loss="ce"):
        self.arch, self.xp, self.loss = arch, xp, loss
        self.n_convs = sum(1 for k in params if k.startswith("C"))
        self.n_layers = sum(1 for k in params if k.startswith("W"))
        self.weights = {k: xp.array(v) for k, v in params.items()}  # own copies, updated in place

    def clone(self):
        """A new network with these weights (copies) and this structure."""
        return CNN(self.params(), self.arch, self.xp, self.loss)

    def forward(self, x):
        """x (B, H W) -> logits (B, classes), caches (for backward)."""
        h = self.xp.ascontiguousarray(x.T)       # (H W, B): the batch last
        h = h.reshape(1, *self.arch.image, -1)    # (1, H, W, B): one grey channel, a view
        conv_caches = []
        for j in range(1, self.n_convs + 1):
            h, conv = conv2d_forward(h, self.weights[f"C{j}"], self.weights[f"c{j}"],
                                     self.arch.stride[j - 1], self.arch.padding[j - 1])
            h, pool = maxpool2d_forward(h, self.arch.pool)
            h, relu = relu_forward(h)             # (c_j, H_j, W_j, B)
            conv_caches.append((conv, pool, relu))
        h, flat_shape = flatten_forward(h)        # (c_n H_n W_n, B), torch's order, a view
        fc_caches = []
        for i in range(1, self.n_layers + 1):
            h, linear = linear_forward(h, self.weights[f"W{i}"], self.weights[f"b{i}"])
            relu = None
            if i < self.n_layers:                 # the last layer's output is the logits
                h, relu = relu_forward(h)
            fc_caches.append((linear, relu))
        return h.T, (conv_caches, flat_shape, fc_caches)       # (B, classes)

    def backward(self, dlogits, caches):
        """dlogits (B, classes) -> {"C1": dC1, "c1": dc1, ..., "W1": dW1, ...}."""
        conv_caches, flat_shape, fc_caches = caches
        grads = {}
        d = dlogits.T                             # (classes, B)
        for i in range(self.n_layers, 0, -1):
            linear, relu = fc_caches[i - 1]
            if relu is not None:
                d = relu_backward(d, relu)
            d, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(d, linear)
        d = flatten_backward(d, flat_shape)       # (c_n, H_n, W_n, B)
        for j in range(self.n_convs, 0, -1):
            conv, pool, relu = conv_caches[j - 1]
            d = maxpool2d_backward(relu_backward(d, relu), pool)
            d, grads[f"C{j}"], grads[f"c{j}"] = conv2d_backward(d, conv, need_dx=j > 1)
        return grads
