"""The MLP of mlp_np.py with the layers every course adds to it: any activation, batch norm,
dropout. Written by hand in NumPy; nets/dense_torch.py is its twin. The CNN's fully connected
head is one of these.

    per hidden layer i:  linear -> [batch norm] -> activation -> [dropout]      then: linear

Weights as mlp_np's (W_i (n_i, n_{i-1}), b_i (n_i,)), and where batch norm follows layer i,
bn{i}_weight, bn{i}_bias (n_i,) trained, and the buffers bn{i}_running_mean, bn{i}_running_var
(n_i,), bn{i}_num_batches_tracked (): torch's nn.BatchNorm1d, by name. A layer followed by
batch norm has no bias b_i: batch norm subtracts the mean, so such a bias would learn nothing
but rounding noise (and the twins' noise differs); batch norm's own bias takes its place. Shapes: x (B, D) as the
data sets give them, logits (B, classes); inside, one column per image (n, B).
"""
import numpy as np

from mlp_np import linear_backward, linear_forward
from nets.layers_np import (ACTIVATIONS, batchnorm_backward, batchnorm_forward,
                            dropout_backward, dropout_forward)
from nets.shapes import bn_names, count_layers


class Dense:
    """The network of params (trained) and buffers (batch norm's statistics), with the
    activation called `activation` (layers_np.ACTIVATIONS) and dropout of rate `dropout` on
    every hidden layer. `training` chooses batch norm's statistics (the batch's, or the running
    ones) and whether the dropout masks given to forward apply. Computes with the arrays it is
    given; the optimizer updates params, batch norm updates buffers, in place."""

    def __init__(self, params, buffers=None, loss="ce", activation="relu", dropout=0.0):
        self.params, self.buffers, self.loss = params, buffers or {}, loss
        self.activation, self.dropout, self.training = activation, dropout, False
        _, self.n_layers = count_layers(params)
        self.norms = {i: bn_names(f"bn{i}") for i in range(1, self.n_layers)
                      if f"bn{i}_weight" in params}
        widths = [params[f"W{i}"].shape[0] for i in range(1, self.n_layers)]
        self.dropout_widths = widths if dropout else []

    def forward(self, x, masks=None):
        """x (B, D) -> logits (B, classes), caches. masks: a dropout mask (B, n_i) for each
        hidden layer (datasets.catalog.dropout_masks), used in training; None: no dropout."""
        act_forward, _ = ACTIVATIONS[self.activation]
        masks = masks if self.training and self.dropout else None
        caches = []
        a = x.T                                               # (D, B): a column per image
        for i in range(1, self.n_layers + 1):
            a, linear = linear_forward(a, self.params[f"W{i}"], bias(self.params, f"b{i}",
                                                                     f"W{i}"))
            norm = act = drop = None                          # a: (n_i, B)
            if i < self.n_layers:                             # the last layer's are the logits
                if i in self.norms:
                    a, norm = normalise(self, a, self.norms[i])
                    count_batch(self, self.norms[i])
                a, act = act_forward(a)
                if masks is not None:
                    a, drop = dropout_forward(a, masks[i - 1].T)
            caches.append((linear, norm, act, drop))
        return a.T, caches

    def backward(self, dlogits, caches, need_dx=False):
        """dlogits (B, classes) -> ({name: gradient} of every trained weight, dx (B, D) or
        None unless need_dx)."""
        _, act_backward = ACTIVATIONS[self.activation]
        grads = {}
        dout = dlogits.T                                      # (classes, B)
        for i in range(self.n_layers, 0, -1):
            linear, norm, act, drop = caches[i - 1]
            if drop is not None:
                dout = dropout_backward(dout, drop)
            if act is not None:
                dout = act_backward(dout, act)
            if norm is not None:
                names = self.norms[i]
                dout, grads[names["weight"]], grads[names["bias"]] = batchnorm_backward(dout,
                                                                                        norm)
            dout, grads[f"W{i}"], db = linear_backward(dout, linear, need_dx=i > 1 or need_dx)
            if f"b{i}" in self.params:
                grads[f"b{i}"] = db
        return grads, (dout.T if need_dx else None)

    def hidden_outputs(self, caches):
        """From forward's caches: [("hidden layer i (n units)", [what layer i's activation
        kept])] per hidden layer; for ReLU that is its output (n_i, B), 0 where the unit is
        silent. For the checks that look inside a trained network (training/diagnosis.py)."""
        return [(f"hidden layer {i} ({act.shape[0]} units)", [act])
                for i, (_, _, act, _) in enumerate(caches[:-1], start=1)]


def bias(params, name, weight):
    """params[name], or zeros where the layer has no bias (batch norm follows it)."""
    if name in params:
        return params[name]
    return np.zeros_like(params[weight], shape=params[weight].shape[:1])


def normalise(net, a, names, part=slice(None)):
    """Batch norm of a (C, B) or (C, H, W, B) with the features `part` of net's weights and
    statistics called `names` (see nets.shapes.bn_names), in net's mode; the statistics move in
    place. The caller counts the batch once (count_batch), whatever parts it normalises."""
    p, b = net.params, net.buffers
    return batchnorm_forward(a, p[names["weight"]][part], p[names["bias"]][part],
                             b[names["running_mean"]][part], b[names["running_var"]][part],
                             net.training)


def count_batch(net, names):
    """One more batch for batch norm `names` in training, as torch counts them."""
    if net.training:
        net.buffers[names["num_batches_tracked"]] += 1


def with_batch_norm(params, dtype="float32"):
    """params with batch norm after every hidden layer and convolution, as torch initialises
    it: weight 1, bias 0, running mean 0, running variance 1, no batch counted yet; the layers
    it follows lose their biases."""
    n_convs, n_layers = count_layers(params)
    out = dict(params)
    widths = [(f"cbn{j}", f"c{j}", params[f"C{j}"].shape[0]) for j in range(1, n_convs + 1)] + \
        [(f"bn{i}", f"b{i}", params[f"W{i}"].shape[0]) for i in range(1, n_layers)]
    for prefix, bias_name, n in widths:
        del out[bias_name]
        names = bn_names(prefix)
        out[names["weight"]], out[names["bias"]] = np.ones(n, dtype), np.zeros(n, dtype)
        out[names["running_mean"]], out[names["running_var"]] = (np.zeros(n, dtype),
                                                                 np.ones(n, dtype))
        out[names["num_batches_tracked"]] = np.zeros((), np.int64)
    return out
