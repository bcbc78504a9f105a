"""Layers for convolutional networks, by hand in NumPy: forward/backward pairs, as in mlp_np.py.

Images inside a network are (C, B, H, W) arrays: channels first, then the batch. It is the
convolutional form of mlp_np's one column per image: a convolution over every window of every
image is one matrix product (C_out, C_in k k) @ (C_in k k, B H' W') whose result is already the
next layer's (C_out, B, H', W'), with no transpose in between. Torch's NCHW is (B, C, H, W);
`flatten_forward` gives the features in torch's order.

Every `*_forward` returns its output and a cache; `*_backward(dout, cache)` returns the
gradients with respect to its inputs (and parameters). Every array function comes from the
array's own module, so CuPy arrays run on the GPU.
"""
from mlp_np import array_module


def _strided(xp):
    return xp.lib.stride_tricks.as_strided


def windows(x, k, stride):
    """Every k x k window of x (C, B, H, W), as a view: (C, k, k, B, H', W') with
    H' = (H - k) // stride + 1; entry [c, i, j, b, y, x] = x[c, b, stride y + i, stride x + j]."""
    C, B, H, W = x.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    sC, sB, sH, sW = x.strides
    return _strided(array_module(x))(x, (C, k, k, B, Ho, Wo),
                                     (sC, sH, sW, sB, stride * sH, stride * sW))


def conv2d_forward(x, K, b, stride=1, padding=0):
    """out = K * x + b, torch's Conv2d (a cross-correlation).
    x (C_in, B, H, W), K (C_out, C_in, k, k), b (C_out,) -> out (C_out, B, H', W'),
    H' = (H + 2 padding - k) // stride + 1.

    im2col: the windows of the padded input, a strided view, are copied once into columns
    (C_in k k, B H' W'); the convolution is then one matrix product."""
    xp = array_module(x)
    C_out, C_in, k, _ = K.shape
    if padding:
        x = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = windows(x, k, stride)                             # (C_in, k, k, B, H', W'), a view
    _, _, _, B, Ho, Wo = w.shape
    cols = w.reshape(C_in * k * k, B * Ho * Wo)           # (C_in k k, B H' W'), the one copy
    out = K.reshape(C_out, -1) @ cols                     # (C_out, B H' W')
    out += b[:, None]
    return out.reshape(C_out, B, Ho, Wo), (cols, K, x.shape, stride, padding)


def conv2d_backward(dout, cache, need_dx=True):
    """dout (C_out, B, H', W') -> dx (C_in, B, H, W) or None, dK (C_out, C_in, k, k),
    db (C_out,).

    dK and the gradient of the columns are matrix products; the columns' gradient goes back to
    the pixels by one strided slice per kernel offset (k^2 adds of a (C_in, B, H', W') block),
    which is where overlapping windows add up. need_dx=False skips it for the first layer."""
    cols, K, padded_shape, stride, padding = cache
    xp = array_module(dout)
    C_out, C_in, k, _ = K.shape
    _, B, Ho, Wo = dout.shape
    d = dout.reshape(C_out, B * Ho * Wo)                  # (C_out, B H' W')
    dK = (d @ cols.T).reshape(K.shape)                    # (C_out, C_in, k, k)
    db = d.sum(axis=1)                                    # (C_out,)
    if not need_dx:
        return None, dK, db
    dcols = (K.reshape(C_out, -1).T @ d).reshape(C_in, k, k, B, Ho, Wo)
    dx = xp.zeros(padded_shape, dout.dtype)               # (C_in, B, H + 2p, W + 2p)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += dcols[:, i, j]
    if padding:
        dx = dx[:, :, padding:-padding, padding:-padding]
    return dx, dK, db


def maxpool2d_forward(x, k, stride=None):
    """The maximum of every k x k window, torch's MaxPool2d (no padding).
    x (C, B, H, W) -> out (C, B, H', W'), H' = (H - k) // stride + 1; stride defaults to k.

    The windows' entries at one offset (i, j) form a strided slice of x, so the maximum is
    k^2 - 1 elementwise passes, and `where` (the offset of the first maximum in row-major
    order, as torch picks among equal maxima) k^2 more."""
    stride = stride or k
    xp = array_module(x)
    offsets = [(i, j) for i in range(k) for j in range(k)]         # a window in row-major order
    at = lambda i, j: x[:, :, i::stride, j::stride][:, :, :Ho, :Wo]  # (C, B, H', W') views
    Ho, Wo = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    out = at(0, 0).copy()                                          # (C, B, H', W')
    for i, j in offsets[1:]:
        xp.maximum(out, at(i, j), out=out)
    where = xp.zeros(out.shape, xp.int8 if k * k < 128 else xp.int32)
    for n in range(len(offsets) - 1, 0, -1):                       # the first maximum last
        xp.copyto(where, n, where=at(*offsets[n]) == out)
    xp.copyto(where, 0, where=at(0, 0) == out)
    return out, (where, x.shape, k, stride)


def maxpool2d_backward(dout, cache):
    """dout (C, B, H', W') -> dx (C, B, H, W): each window's gradient goes to its first maximum
    in row-major order, as torch sends it where a window holds equal maxima (MNIST's flat
    background: a window of zeros sends it to its top-left pixel); overlapping windows add."""
    where, shape, k, stride = cache
    xp = array_module(dout)
    _, _, Ho, Wo = dout.shape
    dx = xp.zeros(shape, dout.dtype)                      # (C, B, H, W)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += \
                dout * (where == i * k + j)
    return dx


def flatten_forward(x):
    """x (C, B, H, W) -> (C H W, B), one column per image, its features in torch's order
    (nn.Flatten of (B, C, H, W): index c H W + h W + w)."""
    C, B, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(C * H * W, B), x.shape


def flatten_backward(dout, shape):
    """dout (C H W, B) -> dx (C, B, H, W)."""
    C, B, H, W = shape
    return dout.reshape(C, H, W, B).transpose(0, 3, 1, 2)


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


def mse_forward(out, y):
    """Mean squared error against one-hot targets, torch's F.mse_loss(out, one_hot(y)):
    the mean over all B x C entries.   out (B, C), y (B,) -> loss (scalar array)."""
    xp = array_module(out)
    diff = out.copy()                                     # (B, C): out - onehot(y)
    diff[xp.arange(len(y)), y] -= 1
    return (diff * diff).mean(), diff


def mse_backward(dloss, diff):
    """dloss (scalar) -> dout (B, C) = dloss 2 (out - onehot) / (B C)."""
    return diff * (2 * dloss / diff.size)
