"""The layers of both hand-written networks (mlp_np.py, cnn_np.py): forward/backward pairs.

Every `*_forward` returns its output and a cache of what the backward pass needs;
`*_backward(dout, cache)` takes the gradient of the loss with respect to that output and
returns the gradients with respect to its inputs (and parameters).

Dense layers work on columns, one per image: (n, B) arrays, as in the textbook's z = W a + b
(mlp_np.py says why). Images inside a network are (C, H, W, B) arrays, channels first and
the batch last: the convolutional form of one column per image. A convolution over every window
of every image is then one matrix product (C_out, C_in k k) @ (C_in k k, H' W' B) whose result
is already the next layer's (C_out, H', W', B), with no transpose in between, and flattening is
free. With the batch last, every slice over rows and columns (pooling, the convolution's input
gradient) moves whole runs of B contiguous numbers: 2-3x faster than torch's NCHW order
(B, C, H, W), or (C, B, H, W), whose runs are one row of a small image.

Every array function comes from the array's own module, so CuPy arrays run on the GPU.
"""
import sys


def array_module(a):
    """numpy for a NumPy array, cupy for a CuPy array."""
    return sys.modules[type(a).__module__.split(".")[0]]


# --- dense layers -------------------------------------------------------------------------

def linear_forward(x, W, b):
    """out = W x + b.   x (n_in, B), W (n_out, n_in), b (n_out,) -> out (n_out, B)."""
    out = W @ x                                   # (n_out, B)
    out += b[:, None]                             # (n_out, B), b added to every column
    return out, (x, W)


def linear_backward(dout, cache, need_dx=True):
    """dout (n_out, B) -> dx (n_in, B) or None, dW (n_out, n_in), db (n_out,).

    need_dx=False skips dx for the first layer: nothing upstream of the pixels learns."""
    x, W = cache
    dW = dout @ x.T                               # (n_out, n_in) = (n_out, B) @ (B, n_in)
    db = dout.sum(axis=1)                         # (n_out,): b was added to every column
    dx = W.T @ dout if need_dx else None          # (n_in, B) = (n_in, n_out) @ (n_out, B)
    return dx, dW, db


def relu_forward(z):
    """h = max(z, 0), elementwise.   z (n, B) -> h (n, B).  Overwrites z (never needed again)."""
    h = array_module(z).maximum(z, 0, out=z)      # (n, B)
    return h, h                                   # h > 0 exactly where z > 0


def relu_backward(dh, cache):
    """dz = dh * 1[z > 0].   dh (n, B) -> dz (n, B).  Overwrites dh.

    The derivative at z = 0 is taken as 0, as torch does."""
    h = cache
    return array_module(dh).multiply(dh, h > 0, out=dh)


def cross_entropy_forward(logits, y, smoothing=0.0):
    """Mean softmax cross-entropy against label-smoothed targets.
    logits (B, C), y (B,) -> loss (scalar array).

    The target of row b is t_b = (1 - s) onehot(y_b) + s / C: the true class gets 1 - s + s/C,
    every other class s/C (s = smoothing; s = 0 is the plain cross-entropy). Asking for less
    than certainty keeps the logits from growing without end once an image is classified
    right (Szegedy et al., 2016); it is torch's `label_smoothing`.
        loss = mean_b [ log sum_c exp(logits_bc) - sum_c t_bc logits_bc ]
    Computed after subtracting the row maximum (which changes nothing, as sum_c t_bc = 1), so
    exp never overflows and no logit, however confident (±1e4), gives inf or NaN."""
    xp = array_module(logits)
    B, C = logits.shape
    rows = xp.arange(B)
    shifted = logits - logits.max(axis=1, keepdims=True)   # (B, C), every entry <= 0
    exp = xp.exp(shifted)                                  # (B, C), in (0, 1]
    sum_exp = exp.sum(axis=1)                              # (B,), >= 1
    target_logit = shifted[rows, y]                        # (B,)
    if smoothing:
        target_logit = (1 - smoothing) * target_logit + smoothing / C * shifted.sum(axis=1)
    loss = (xp.log(sum_exp) - target_logit).mean()         # ()
    probs = exp / sum_exp[:, None]                         # (B, C) softmax
    return loss, (probs, y, smoothing)


def cross_entropy_backward(dloss, cache):
    """dloss (scalar) -> dlogits (B, C) = dloss * (softmax(logits) - targets) / B."""
    probs, y, smoothing = cache
    B, C = probs.shape
    dlogits = probs                                         # (B, C), reuses the cache
    if smoothing:
        dlogits -= smoothing / C                            # every class's share of s
    dlogits[array_module(probs).arange(B), y] -= 1 - smoothing   # softmax - targets
    dlogits *= dloss / B                                    # the mean over the batch
    return dlogits


# --- convolutional layers -----------------------------------------------------------------

def _strided(xp):
    return xp.lib.stride_tricks.as_strided


def windows(x, k, stride):
    """Every k x k window of x (C, H, W, B), as a view: (C, k, k, H', W', B) with
    H' = (H - k) // stride + 1; entry [c, i, j, y, x, b] = x[c, stride y + i, stride x + j, b]."""
    C, H, W, B = x.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    sC, sH, sW, sB = x.strides
    return _strided(array_module(x))(x, (C, k, k, Ho, Wo, B),
                                     (sC, sH, sW, stride * sH, stride * sW, sB))


def conv2d_forward(x, K, b, stride=1, padding=0):
    """out = K * x + b, torch's Conv2d (a cross-correlation).
    x (C_in, H, W, B), K (C_out, C_in, k, k), b (C_out,) -> out (C_out, H', W', B),
    H' = (H + 2 padding - k) // stride + 1.

    im2col: the windows of the padded input, a strided view, are copied once into columns
    (C_in k k, H' W' B); the convolution is then one matrix product."""
    xp = array_module(x)
    C_out, C_in, k, _ = K.shape
    if padding:
        x = xp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    w = windows(x, k, stride)                             # (C_in, k, k, H', W', B), a view
    _, _, _, Ho, Wo, B = w.shape
    cols = w.reshape(C_in * k * k, Ho * Wo * B)           # (C_in k k, H' W' B), the one copy
    out = K.reshape(C_out, -1) @ cols                     # (C_out, H' W' B)
    out += b[:, None]
    return out.reshape(C_out, Ho, Wo, B), (cols, K, x.shape, stride, padding)


def conv2d_backward(dout, cache, need_dx=True):
    """dout (C_out, H', W', B) -> dx (C_in, H, W, B) or None, dK (C_out, C_in, k, k),
    db (C_out,).

    dK and the gradient of the columns are matrix products; the columns' gradient goes back to
    the pixels by one strided slice per kernel offset (k^2 adds of a (C_in, H', W', B) block),
    which is where overlapping windows add up. need_dx=False skips it for the first layer."""
    cols, K, padded_shape, stride, padding = cache
    xp = array_module(dout)
    C_out, C_in, k, _ = K.shape
    _, Ho, Wo, B = dout.shape
    d = dout.reshape(C_out, Ho * Wo * B)                  # (C_out, H' W' B)
    dK = (cols @ d.T).T.reshape(K.shape)                  # (C_out, C_in, k, k); this order of
    db = d.sum(axis=1)                                    # the product is OpenBLAS's faster
    if not need_dx:
        return None, dK, db
    dcols = (K.reshape(C_out, -1).T @ d).reshape(C_in, k, k, Ho, Wo, B)
    dx = xp.zeros(padded_shape, dout.dtype)               # (C_in, H + 2p, W + 2p, B)
    for i in range(k):
        for j in range(k):
            dx[:, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dcols[:, i, j]
    if padding:
        dx = dx[:, padding:-padding, padding:-padding]
    return dx, dK, db


def maxpool2d_forward(x, k, stride=None):
    """The maximum of every k x k window, torch's MaxPool2d (no padding).
    x (C, H, W, B) -> out (C, H', W', B), H' = (H - k) // stride + 1; stride defaults to k.

    The windows' entries at one offset (i, j) form a strided slice of x, so the maximum is
    k^2 - 1 elementwise passes over the offsets in row-major order. `where`, the offset of each
    window's first maximum (the one torch picks among equal maxima), moves only where an offset
    is strictly greater than all before it; it is kept by arithmetic on small integers, as
    a masked copy (np.copyto(where=)) is ten times slower."""
    stride = stride or k
    xp = array_module(x)
    C, H, W, B = x.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    at = lambda i, j: x[:, i::stride, j::stride][:, :Ho, :Wo]     # (C, H', W', B) views
    out = at(0, 0).copy()                                          # (C, H', W', B)
    where = xp.zeros(out.shape, xp.int8 if k * k < 128 else xp.int32)
    greater, step = xp.empty(out.shape, bool), xp.empty_like(where)
    for n in range(1, k * k):
        a = at(*divmod(n, k))
        xp.greater(a, out, out=greater)                            # a new first maximum
        xp.maximum(out, a, out=out)
        xp.subtract(n, where, out=step)
        step *= greater
        where += step                                              # n where greater
    return out, (where, x.shape, k, stride)


def maxpool2d_backward(dout, cache):
    """dout (C, H', W', B) -> dx (C, H, W, B): each window's gradient goes to its first maximum
    in row-major order, as torch sends it where a window holds equal maxima (MNIST's flat
    background: a window of zeros sends it to its top-left pixel); overlapping windows add."""
    where, shape, k, stride = cache
    xp = array_module(dout)
    _, Ho, Wo, _ = dout.shape
    dx = xp.zeros(shape, dout.dtype)                      # (C, H, W, B)
    for i in range(k):
        for j in range(k):
            at = dx[:, i:i + stride * Ho:stride, j:j + stride * Wo:stride]   # (C, H', W', B)
            if stride >= k:                               # windows apart: each pixel in one
                xp.multiply(dout, where == i * k + j, out=at)
            else:
                at += dout * (where == i * k + j)
    return dx


def flatten_forward(x):
    """x (C, H, W, B) -> (C H W, B), one column per image, its features in torch's order
    (nn.Flatten of (B, C, H, W): index c H W + h W + w). A view: the batch is already last."""
    return x.reshape(-1, x.shape[-1]), x.shape


def flatten_backward(dout, shape):
    """dout (C H W, B) -> dx (C, H, W, B)."""
    return dout.reshape(shape)


def sigmoid_forward(z):
    """s = 1 / (1 + exp(-z)), elementwise; computed from exp(-|z|) so that no z overflows."""
    xp = array_module(z)
    e = xp.exp(-xp.abs(z))                                # in (0, 1]
    s = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return s, s


def sigmoid_backward(ds, s):
    """dz = ds s (1 - s)."""
    return ds * s * (1 - s)


def tanh_forward(z):
    t = array_module(z).tanh(z)
    return t, t


def tanh_backward(dt, t):
    """dz = dt (1 - t^2)."""
    return dt * (1 - t * t)


def mse_forward(out, y, smoothing=0.0):
    """Mean squared error against one-hot targets, label-smoothed as the cross-entropy's (the
    true class 1 - s + s/C, the others s/C): torch's F.mse_loss(out, targets), the mean over
    all B x C entries. The loss of the single-neuron perceptron, whose outputs are scores, not
    log-probabilities.   out (B, C), y (B,) -> loss (scalar array)."""
    xp = array_module(out)
    B, C = out.shape
    diff = out - smoothing / C                            # (B, C): out - targets
    diff[xp.arange(B), y] -= 1 - smoothing
    return (diff * diff).mean(), diff


def mse_backward(dloss, diff):
    """dloss (scalar) -> dout (B, C) = dloss 2 (out - targets) / (B C)."""
    return diff * (2 * dloss / diff.size)


# --loss: name -> (forward(out, y, smoothing) -> (loss, cache), backward(dloss, cache) -> dout)
LOSSES = {"ce": (cross_entropy_forward, cross_entropy_backward),
          "mse": (mse_forward, mse_backward)}
