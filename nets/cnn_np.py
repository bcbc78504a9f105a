"""A convolutional network written by hand in NumPy, from the layers of nets/layers_np.py and,
after the convolutions, the MLP of nets/dense_np.py as its head.

    image -> [conv k x k -> [batch norm] -> max-pool -> activation] per convolution -> flatten
          -> [dropout] -> MLP (activation, [batch norm], [dropout]) -> logits

Max-pool then the activation is LeNet's activation then max-pool on a quarter of the pixels:
the same outputs, as every activation here is non-decreasing and so commutes with the maximum,
and the same gradients (for ReLU: a window whose maximum is positive sends its gradient to the
same first maximum either way; any other window sends none), which tests/test_cnn.py checks
against torch, ties included. Batch norm comes before the pooling, on every position of the
convolution's output, as in conv -> batch norm -> ReLU -> pool.

The weights contract, as the MLP's and read by cnn_torch.py alike:
    C_j   (c_j, c_{j-1}, k, k)   the kernels of convolution j (c_0 = 1, the grey image)
    c_j   (c_j,)                 their biases (none where batch norm follows)
    cbn{j}_*                     batch norm after convolution j, as torch's nn.BatchNorm2d
    W_i   (n_i, n_{i-1})         the fully connected layers, W_1 taking the flattened
    b_i   (n_i,)                 (c_n, H_n, W_n) activations in torch's order
Shapes for a batch of B images of H x W pixels: x (B, H W) as the data sets give them, y (B,),
logits (B, classes). Inside, images are (C, H, W, B) (see nets/layers_np.py).
"""
import numpy as np

from nets.dense_np import Dense, bias, count_batch, normalise
from nets.layers_np import (ACTIVATIONS, batchnorm_backward,
                            conv2d_backward, conv2d_forward, dropout_backward, dropout_forward,
                            flatten_backward, flatten_forward, maxpool2d_backward,
                            maxpool2d_forward)
from nets.shapes import bn_names, count_layers, head_part
from nets.threads import LAYER_MIN_SIZE, in_threads, row_blocks, stacked


class CNN:
    """The network of params (trained; see init_params), buffers (batch norm's statistics) and
    arch (nets.shapes.Arch), with the activation called `activation` and dropout of rate
    `dropout` on the flattened features and the head's hidden layers; trained with the loss
    called `loss` (nets.losses_np.LOSSES). Computes with the arrays it is given; `training`
    as nets.dense_np.Dense's."""

    def __init__(self, params, arch, loss="ce", buffers=None, activation="relu", dropout=0.0):
        self.params, self.buffers, self.arch, self.loss = params, buffers or {}, arch, loss
        self.activation, self.dropout = activation, dropout
        self.n_convs, _ = count_layers(params)
        self.norms = {j: bn_names(f"cbn{j}") for j in range(1, self.n_convs + 1)
                      if f"cbn{j}_weight" in params}
        self.head = Dense(head_part(params), head_part(self.buffers), loss, activation, dropout)
        flat = params["W1"].shape[1]
        self.dropout_widths = [flat, *self.head.dropout_widths] if dropout else []
        self.training = False

    @property
    def training(self):
        return self._training

    @training.setter
    def training(self, on):
        self._training = self.head.training = on

    def forward(self, x, masks=None):
        """x (B, H W) -> logits (B, classes), caches (for backward). masks: dropout masks
        (datasets.catalog.dropout_masks) for the flattened features and each hidden layer."""
        masks = masks if self.training and self.dropout else None
        a = np.ascontiguousarray(x.T)             # (H W, B): the batch last
        a = a.reshape(1, *self.arch.image, -1)    # (1, H, W, B): one grey channel, a view
        conv_caches = []
        for j in range(1, self.n_convs + 1):
            a, conv = conv2d_forward(a, self.params[f"C{j}"], bias(self.params, f"c{j}", f"C{j}"),
                                     self.arch.stride[j - 1], self.arch.padding[j - 1])
            # each channel on its own from here to the next convolution: blocks of channels,
            # one per thread, as torch's kernels use every core
            blocks = row_blocks(a, LAYER_MIN_SIZE)
            outs, stages = zip(*in_threads(self.channels_forward,
                                           [(j, a[lo:hi], slice(lo, hi)) for lo, hi in blocks]))
            a = stacked(outs)                     # (c_j, H_j, W_j, B)
            if j in self.norms:
                count_batch(self, self.norms[j])
            conv_caches.append((conv, blocks, stages))
        a, flat_shape = flatten_forward(a)        # (c_n H_n W_n, B), torch's order, a view
        drop = None
        if masks is not None:
            a, drop = dropout_forward(a, masks[0].T)
            masks = masks[1:]
        logits, head_caches = self.head.forward(a.T, masks)   # the head takes rows: a view
        return logits, (conv_caches, flat_shape, drop, head_caches)

    def channels_forward(self, j, a, part):
        """Convolution j's output, channels `part`: a (c, H, W, B) -> batch norm -> max-pool ->
        activation -> (c, H_j, W_j, B), cache."""
        act_forward, _ = ACTIVATIONS[self.activation]
        norm = None
        if j in self.norms:
            a, norm = normalise(self, a, self.norms[j], part)
        a, pool = maxpool2d_forward(a, self.arch.pool)
        a, act = act_forward(a)
        return a, (norm, pool, act)

    def backward(self, dlogits, caches):
        """dlogits (B, classes) -> ({"C1": dC1, "c1": dc1, ..., "W1": dW1, ...}, None)."""
        conv_caches, flat_shape, drop, head_caches = caches
        grads, da = self.head.backward(dlogits, head_caches, need_dx=True)   # da (B, D)
        da = da.T
        if drop is not None:
            da = dropout_backward(da, drop)
        da = flatten_backward(da, flat_shape)     # (c_n, H_n, W_n, B)
        for j in range(self.n_convs, 0, -1):
            conv, blocks, stages = conv_caches[j - 1]
            das, dgammas, dbetas = zip(*in_threads(self.channels_backward, [
                (da[lo:hi], stage) for (lo, hi), stage in zip(blocks, stages)]))
            da = stacked(das)                     # (c_j, H, W, B)
            if j in self.norms:
                names = self.norms[j]
                grads[names["weight"]], grads[names["bias"]] = map(np.concatenate,
                                                                   (dgammas, dbetas))
            da, grads[f"C{j}"], dc = conv2d_backward(da, conv, need_dx=j > 1)
            if f"c{j}" in self.params:
                grads[f"c{j}"] = dc
        return grads, None

    def channels_backward(self, da, cache):
        """channels_forward's backward: da (c, H_j, W_j, B) -> (c, H, W, B), and batch norm's
        dgamma, dbeta (c,) (None without it)."""
        _, act_backward = ACTIVATIONS[self.activation]
        norm, pool, act = cache
        da = maxpool2d_backward(act_backward(da, act), pool)
        dgamma = dbeta = None
        if norm is not None:
            da, dgamma, dbeta = batchnorm_backward(da, norm)
        return da, dgamma, dbeta

    def hidden_outputs(self, caches):
        """As nets.dense_np.Dense.hidden_outputs, the convolutions first: ("convolution j
        (c_j channels)", [what the activation kept, (c, H_j, W_j, B), per block of channels])."""
        conv_caches, _, _, head_caches = caches
        convs = []
        for j, (_, _, stages) in enumerate(conv_caches, start=1):
            acts = [act for *_, act in stages]                # (norm, pool, act) per block
            convs.append((f"convolution {j} ({sum(len(act) for act in acts)} channels)", acts))
        return convs + self.head.hidden_outputs(head_caches)


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
