"""A convolutional network written by hand in NumPy, from the layers of nets/layers_np.py and,
after the convolutions, the MLP of mlp_np.py as its head.

    image -> [conv k x k -> max-pool -> ReLU] per convolution -> flatten -> ReLU MLP -> logits

Max-pool then ReLU is LeNet's ReLU then max-pool on a quarter of the pixels: the same outputs,
as ReLU and the maximum commute, and the same gradients (a window whose maximum is positive
sends its gradient to the same first maximum either way; any other window sends none), which
tests/test_cnn.py checks against torch, ties included.

The weights contract, as the MLP's and read by cnn_torch.py alike:
    C_j   (c_j, c_{j-1}, k, k)   the kernels of convolution j (c_0 = 1, the grey image)
    c_j   (c_j,)                 their biases
    W_i   (n_i, n_{i-1})         the fully connected layers, W_1 taking the flattened
    b_i   (n_i,)                 (c_n, H_n, W_n) activations in torch's order
Shapes for a batch of B images of H x W pixels: x (B, H W) as the data sets give them, y (B,),
logits (B, classes). Inside, images are (C, H, W, B) (see nets/layers_np.py).
"""
import numpy as np

from mlp_np import MLP, relu_backward, relu_forward
from nets.layers_np import (conv2d_backward, conv2d_forward, flatten_backward, flatten_forward,
                            maxpool2d_backward, maxpool2d_forward)
from nets.shapes import count_layers


class CNN:
    """The network of params (see init_params) and arch (nets.shapes.Arch), trained with the
    loss called `loss` (nets.layers_np.LOSSES). Computes with the arrays it is given."""

    def __init__(self, params, arch, loss="ce"):
        self.params, self.arch, self.loss = params, arch, loss
        self.n_convs, _ = count_layers(params)
        self.head = MLP({k: v for k, v in params.items() if k[0] in "Wb"}, loss)

    def forward(self, x):
        """x (B, H W) -> logits (B, classes), caches (for backward)."""
        a = np.ascontiguousarray(x.T)             # (H W, B): the batch last
        a = a.reshape(1, *self.arch.image, -1)    # (1, H, W, B): one grey channel, a view
        conv_caches = []
        for j in range(1, self.n_convs + 1):
            a, conv = conv2d_forward(a, self.params[f"C{j}"], self.params[f"c{j}"],
                                     self.arch.stride[j - 1], self.arch.padding[j - 1])
            a, pool = maxpool2d_forward(a, self.arch.pool)
            a, relu = relu_forward(a)             # (c_j, H_j, W_j, B)
            conv_caches.append((conv, pool, relu))
        a, flat_shape = flatten_forward(a)        # (c_n H_n W_n, B), torch's order, a view
        logits, head_caches = self.head.forward(a.T)          # the head takes rows: a view
        return logits, (conv_caches, flat_shape, head_caches)

    def backward(self, dlogits, caches):
        """dlogits (B, classes) -> ({"C1": dC1, "c1": dc1, ..., "W1": dW1, ...}, None)."""
        conv_caches, flat_shape, head_caches = caches
        grads, da = self.head.backward(dlogits, head_caches, need_dx=True)   # da (B, D)
        da = flatten_backward(da.T, flat_shape)   # (c_n, H_n, W_n, B)
        for j in range(self.n_convs, 0, -1):
            conv, pool, relu = conv_caches[j - 1]
            da = maxpool2d_backward(relu_backward(da, relu), pool)
            da, grads[f"C{j}"], grads[f"c{j}"] = conv2d_backward(da, conv, need_dx=j > 1)
        return grads, None


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
