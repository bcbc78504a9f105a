"""The layers written by hand beyond the MLP's (whose linear, ReLU and cross-entropy are in
mlp_np.py): convolution, max-pool, flatten, batch norm, dropout, sigmoid, tanh, leaky ReLU (the losses:
nets/losses_np.py). Forward/backward
pairs as mlp_np's: `*_forward` returns its output and a cache of what the backward pass needs;
`*_backward(dout, cache)` takes the gradient of the loss with respect to that output and
returns the gradients with respect to its inputs (and parameters).

Dense layers work on columns, one per image: (n, B) arrays, as in the textbook's z = W a + b
(docs/weights.md says why). Images inside a network are (C, H, W, B) arrays, channels first and
the batch last: the convolutional form of one column per image. A convolution over every window
of every image is then one matrix product (C_out, C_in k k) @ (C_in k k, H' W' B) whose result
is already the next layer's (C_out, H', W', B), with no transpose in between, and flattening is
free. With the batch last, every slice over rows and columns (pooling, the convolution's input
gradient) moves whole runs of B contiguous numbers: 2-3x faster than torch's NCHW order
(B, C, H, W), or (C, B, H, W), whose runs are one row of a small image.

Every array function comes from the array's own module, so CuPy arrays run on the GPU. The
convolution's two big copies (im2col's columns, the input gradient's adds) are split across the
threads (nets/threads.py), as NumPy copies and adds on one core where torch's kernels use all.
"""
import sys

from mlp_np import relu_backward, relu_forward
from nets.shapes import conv_output
from nets.threads import LAYER_MIN_SIZE, by_row_blocks


def array_module(a):
    """numpy for a NumPy array, cupy for a CuPy array."""
    return sys.modules[type(a).__module__.split(".")[0]]


# --- convolutional layers -----------------------------------------------------------------

def _strided(xp):
    return xp.lib.stride_tricks.as_strided


def windows(x, k, stride):
    """Every k x k window of x (C, H, W, B), as a view: (C, k, k, H', W', B) with
    H' = (H - k) // stride + 1; entry [c, i, j, y, x, b] = x[c, stride y + i, stride x + j, b]."""
    C, H, W, B = x.shape
    Ho, Wo = conv_output(H, k, 0, stride), conv_output(W, k, 0, stride)
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
    cols = xp.empty(w.shape, x.dtype)                     # the one copy, by blocks of rows y:
    by_row_blocks(xp.copyto, cols.transpose(3, 0, 1, 2, 4, 5), w.transpose(3, 0, 1, 2, 4, 5),
                  min_size=LAYER_MIN_SIZE)
    cols = cols.reshape(C_in * k * k, Ho * Wo * B)        # (C_in k k, H' W' B)
    # K in column-major order: OpenBLAS's product with a few rows is up to 1.7x faster so
    # (docs/cnn.md); the same product, at most rounded otherwise.
    out = xp.asfortranarray(K.reshape(C_out, -1)) @ cols  # (C_out, H' W' B)
    out += b[:, None]
    return out.reshape(C_out, Ho, Wo, B), (cols, K, x.shape, stride, padding)


def conv2d_backward(dout, cache, need_dx=True):
    """dout (C_out, H', W', B) -> dx (C_in, H, W, B) or None, dK (C_out, C_in, k, k),
    db (C_out,).

    dK is a matrix product. The columns' gradient is one product per row i of the kernel,
    K[:, :, i, :]^T @ dout, whose k blocks (one per column j) are each added at once to the
    strided slice of pixels that offset (i, j) touched (k^2 adds of a (C_in, H', W', B) block),
    which is where overlapping windows add up. The whole (C_in k k, H' W' B) gradient at once,
    written out and read back, took 25% longer; a product per offset (i, j), of k times fewer
    rows, 35% longer (docs/cnn.md). need_dx=False skips it for the first layer."""
    cols, K, padded_shape, stride, padding = cache
    xp = array_module(dout)
    C_out, C_in, k, _ = K.shape
    _, Ho, Wo, B = dout.shape
    d = dout.reshape(C_out, Ho * Wo * B)                  # (C_out, H' W' B)
    dK = (cols @ d.T).T.reshape(K.shape)                  # (C_out, C_in, k, k); this order of
    db = d.sum(axis=1)                                    # the product is OpenBLAS's faster
    if not need_dx:
        return None, dK, db
    K_rows = xp.ascontiguousarray(K.transpose(2, 3, 1, 0)).reshape(k, k * C_in, C_out)
    dx = xp.zeros(padded_shape, dout.dtype)               # (C_in, H + 2p, W + 2p, B)
    dcols_i = xp.empty((k * C_in, Ho * Wo * B), dout.dtype)   # the columns' gradient, row i
    for i in range(k):
        xp.matmul(K_rows[i], d, out=dcols_i)              # (k C_in, H' W' B)
        def add(dx, dcols):                               # dx, dcols: a block of channels
            for j in range(k):
                dx[:, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dcols[:, j]
        by_row_blocks(add, dx, dcols_i.reshape(k, C_in, Ho, Wo, B).transpose(1, 0, 2, 3, 4),
                      min_size=LAYER_MIN_SIZE)
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
    Ho, Wo = conv_output(H, k, 0, stride), conv_output(W, k, 0, stride)
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


LEAKY_SLOPE = 0.01       # torch's F.leaky_relu default


def leaky_relu_forward(z):
    """a = z where z > 0, else 0.01 z (torch's F.leaky_relu): a unit never falls wholly silent."""
    xp = array_module(z)
    positive = z > 0
    return xp.where(positive, z, LEAKY_SLOPE * z), positive


def leaky_relu_backward(da, positive):
    """dz = da where z > 0, else 0.01 da (at z = 0 the slope is 0.01, as torch takes it)."""
    return array_module(da).where(positive, da, LEAKY_SLOPE * da)


# --activation: name -> (forward(z) -> (a, cache), backward(da, cache) -> dz), each elementwise
ACTIVATIONS = {"relu": (relu_forward, relu_backward),
               "sigmoid": (sigmoid_forward, sigmoid_backward),
               "tanh": (tanh_forward, tanh_backward),
               "leaky_relu": (leaky_relu_forward, leaky_relu_backward)}


# --- regularisers ---------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1,
                      eps=1e-5):
    """Batch normalisation of each feature (a dense layer's unit, a convolution's channel), as
    torch's nn.BatchNorm1d / nn.BatchNorm2d (Ioffe & Szegedy, 2015).
    x (C, B) or (C, H, W, B), gamma, beta, running_mean, running_var (C,) -> out, x's shape.

    Training: each feature is normalised by the mean and the biased variance of its N values in
    the batch (N = B, or H W B), then scaled and shifted: out = gamma (x - mean) / sqrt(var +
    eps) + beta; the running statistics move towards the batch's, in place, as torch's do:
    running <- (1 - momentum) running + momentum batch, the variance's unbiased (N / (N - 1)).
    Evaluation: the running statistics instead. ValueError (torch's words) if training sees one
    value per feature."""
    xp = array_module(x)
    C = x.shape[0]
    x2 = x.reshape(C, -1)                                     # (C, N): a feature's values a row
    if training:
        n = x2.shape[1]
        if n < 2:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {(x.shape[-1], x.shape[0], *x.shape[1:-1])}")
        mean = x2.mean(axis=1)                                # (C,)
        centred = x2 - mean[:, None]                          # (C, N)
        var = xp.einsum("cn,cn->c", centred, centred) / n     # (C,), biased; one pass
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (n / (n - 1))
    else:
        centred, var = x2 - running_mean[:, None], running_var
    inv_std = 1 / xp.sqrt(var + eps)                          # (C,)
    # out = gamma xhat + beta with xhat = centred inv_std, as centred (gamma inv_std) + beta:
    # xhat is never written out: one pass over the batch fewer (docs/cnn.md); the
    # backward pass takes it from centred and inv_std
    out = centred * (gamma * inv_std)[:, None]                # (C, N)
    out += beta[:, None]
    return out.reshape(x.shape), (centred, gamma, inv_std, training)


def batchnorm_backward(dout, cache):
    """dout (x's shape) -> dx (x's shape), dgamma (C,), dbeta (C,).

    Training: the mean and variance depend on every x of the feature, so
        dx = gamma / (N sqrt(var + eps)) (N dout - sum(dout) - xhat sum(dout xhat))
    (sums over the feature's N values); evaluation: dx = dout gamma / sqrt(running_var + eps).
    Computed as dx = a dout - (a / N) (sum(dout) + xhat sum(dout xhat)), a = gamma / sqrt(var
    + eps) per feature: three passes over the batch where the formula as written takes five."""
    centred, gamma, inv_std, training = cache                 # centred (C, N): x - mean
    xp = array_module(dout)
    d2 = dout.reshape(centred.shape)                          # (C, N)
    dbeta = d2.sum(axis=1)                                    # (C,)
    dgamma = xp.einsum("cn,cn->c", d2, centred) * inv_std     # (C,): sum(dout xhat)
    a = gamma * inv_std                                       # (C,)
    dx = d2 * a[:, None]                                      # (C, N)
    if training:
        n = d2.shape[1]
        correction = centred * (-a * dgamma * inv_std / n)[:, None]   # xhat (-a dgamma / N)
        correction += (-a * dbeta / n)[:, None]
        dx += correction
    return dx.reshape(dout.shape), dgamma, dbeta


def dropout_forward(x, mask):
    """Inverted dropout with a given mask (Srivastava et al., 2014): out = x * mask, where mask
    holds 0 for a dropped unit and 1 / (1 - p) for a kept one, so that nothing changes in
    evaluation (no mask: the identity). x and mask of one shape. The mask comes from the run's
    seed (datasets.catalog.dropout_masks), so both twins drop the same units."""
    return x * mask, mask


def dropout_backward(dout, mask):
    """dx = dout * mask: a dropped unit passes no gradient back."""
    return dout * mask
