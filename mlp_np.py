"""A multilayer perceptron written by hand in NumPy: the forward pass, the backward pass, and
each layer's derivative where it is used. mlp_torch.py is the same network in PyTorch, section
by section: a diff of the two shows only the maths.

    logits = W_L relu( ... relu(W_1 x + b_1) ... ) + b_L        loss = cross-entropy

Shapes, for a batch of B images and layer widths (784, n_1, ..., 10):
    x        (B, 784)         pixels / 255, one row per image, as the data sets give them
    y        (B,)             class ids 0..9
    W_i      (n_i, n_{i-1})   the weights of layer i, one row per output (as torch's nn.Linear)
    b_i      (n_i,)           the biases of layer i
    a        (n_i, B)         inside the network one column per image: a = W a_prev + b
    logits   (B, 10)

Every *_forward returns its output and a cache of what its backward needs; every
*_backward(dout, cache) takes the gradient of the loss with respect to that output and returns
the gradients with respect to its input and parameters (the chain rule, one layer at a time).
"""
import numpy as np


class MLP:
    """The ReLU network of params {"W1": (n_1, 784), "b1": (n_1,), ..., "WL", "bL"} (see
    init_params), trained with the loss called `loss` (ce below; the squared errors:
    nets/losses_np.py). It computes with the arrays it is given, which the optimizer updates in
    place."""

    def __init__(self, params, loss="ce"):
        self.params, self.loss = params, loss
        self.n_layers = len(params) // 2

    def forward(self, x):
        """x (B, 784) -> logits (B, 10), caches (one per layer, for backward)."""
        caches = []
        a = x.T                                               # (784, B): a column per image
        for i in range(1, self.n_layers + 1):
            a, linear = linear_forward(a, self.params[f"W{i}"], self.params[f"b{i}"])
            relu = None                                       # a: (n_i, B)
            if i < self.n_layers:                             # the last layer's are the logits
                a, relu = relu_forward(a)                     # (n_i, B)
            caches.append((linear, relu))
        return a.T, caches                                    # (B, 10), a view

    def backward(self, dlogits, caches, need_dx=False):
        """dlogits (B, 10) -> ({"W1": dW1, "b1": db1, ...}, each the shape of its weight;
        dx (B, 784), or None unless need_dx: only a network feeding this one, as the CNN's
        convolutions, learns from the gradient of the input)."""
        grads = {}
        dout = dlogits.T                                      # (10, B)
        for i in range(self.n_layers, 0, -1):
            linear, relu = caches[i - 1]
            if relu is not None:
                dout = relu_backward(dout, relu)              # (n_i, B)
            dout, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(dout, linear,
                                                                   need_dx=i > 1 or need_dx)
        return grads, (dout.T if need_dx else None)           # dout: (784, B) or None


# --- the layers ------------------------------------------------------------------------------

def linear_forward(x, W, b):
    """out = W x + b.   x (n_in, B), W (n_out, n_in), b (n_out,) -> out (n_out, B)."""
    out = W @ x                                   # (n_out, B)
    out += b[:, None]                             # (n_out, B), b added to every column
    return out, (x, W)


def linear_backward(dout, cache, need_dx=True):
    """dout (n_out, B) -> dx (n_in, B) or None, dW (n_out, n_in), db (n_out,).

    out_kb = sum_j W_kj x_jb + b_k, so dW = dout x^T, db sums dout over the batch, and
    dx = W^T dout. need_dx=False skips dx for the first layer: nothing upstream of the pixels
    learns."""
    x, W = cache
    dW = dout @ x.T                               # (n_out, n_in) = (n_out, B) @ (B, n_in)
    db = dout.sum(axis=1)                         # (n_out,): b was added to every column
    dx = W.T @ dout if need_dx else None          # (n_in, B) = (n_in, n_out) @ (n_out, B)
    return dx, dW, db


def relu_forward(z):
    """a = max(z, 0), elementwise.   z (n, B) -> a (n, B).  Overwrites z (never needed again)."""
    a = np.maximum(z, 0, out=z)                   # (n, B)
    return a, a                                   # a > 0 exactly where z > 0


def relu_backward(da, cache):
    """dz = da * 1[z > 0].   da (n, B) -> dz (n, B).  Overwrites da.

    The derivative at z = 0 is taken as 0, as torch does."""
    a = cache
    return np.multiply(da, a > 0, out=da)


def cross_entropy_forward(logits, y, smoothing=0.0):
    """Mean softmax cross-entropy against label-smoothed targets.
    logits (B, C), y (B,) -> loss (scalar array).

    The target of row b is t_b = (1 - s) onehot(y_b) + s / C: the true class gets 1 - s + s/C,
    every other class s/C (s = smoothing; 0: the plain cross-entropy; torch's `label_smoothing`,
    Szegedy et al. 2016).   loss = mean_b [ log sum_c exp(logits_bc) - sum_c t_bc logits_bc ]
    The row maximum is subtracted first (which changes nothing, as sum_c t_bc = 1), so exp never
    overflows and no logit, however confident (±1e4), gives inf or NaN."""
    B, C = logits.shape
    rows = np.arange(B)
    shifted = logits - logits.max(axis=1, keepdims=True)   # (B, C), every entry <= 0
    exp = np.exp(shifted)                                  # (B, C), in (0, 1]
    sum_exp = exp.sum(axis=1)                              # (B,), >= 1
    target_logit = shifted[rows, y]                        # (B,)
    if smoothing:
        target_logit = (1 - smoothing) * target_logit + smoothing / C * shifted.sum(axis=1)
    loss = (np.log(sum_exp) - target_logit).mean()         # ()
    probs = exp / sum_exp[:, None]                         # (B, C) softmax
    return loss, (probs, y, smoothing)


def cross_entropy_backward(dloss, cache):
    """dloss (scalar) -> dlogits (B, C) = dloss * (softmax(logits) - targets) / B."""
    probs, y, smoothing = cache
    B, C = probs.shape
    dlogits = probs                                         # (B, C), reuses the cache
    if smoothing:
        dlogits -= smoothing / C                            # every class's share of s
    dlogits[np.arange(B), y] -= 1 - smoothing               # softmax - targets
    dlogits *= dloss / B                                    # the mean over the batch
    return dlogits


# --- the initial weights ---------------------------------------------------------------------

def init_params(sizes, seed=0, dtype="float32"):
    """He initialisation: W_i ~ Normal(0, 2 / n_{i-1}), b_i = 0, for sizes (784, n_1, ..., 10).

    The factor 2 keeps the variance of the activations constant through ReLU layers, which
    zero half their inputs (He et al., 2015). Drawn in float64 from one NumPy generator, then
    cast, so float32 and float64 runs start from the same weights up to rounding.
    -> {"W1": (n_1, 784), "b1": (n_1,), ..., "WL": (10, n_{L-1}), "bL": (10,)}"""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = rng.standard_normal((n_in, n_out)).T * np.sqrt(2 / n_in)    # drawn (n_in, n_out):
        params[f"W{i}"] = np.ascontiguousarray(W, dtype)                # a seed's weights stay
        params[f"b{i}"] = np.zeros(n_out, dtype)                        # the tables' weights
    return params
