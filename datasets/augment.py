"""Random distortions of a batch of images (--augment), drawn from a NumPy Generator so that both
twins, fed the same augmented NumPy batch, see the same images in every process (NumPy's PCG64
stream is the same on every machine; the last bit of sin, cos and BLAS's sums may not be, so
bit-identical images are promised on one machine, not across machines).

    augment(x, image_shape, rng, params=DEFAULT) -> x distorted: (B, H * W), x's dtype, in [0, 1]
    rng_for(seed, epoch, step)                   -> np.random.default_rng([seed, epoch, step, 2])

Each image gets its own affine map (a rotation, an isotropic scaling and a shift about the image
centre, after a left-right mirror half the time where params.flip) and, where
params.elastic_alpha > 0, an elastic distortion as in Simard, Steinkraus & Platt, "Best
practices for convolutional neural networks applied to visual document analysis" (ICDAR 2003,
section 2): a field of per-pixel displacements drawn uniformly from [-1, 1],
smoothed by a Gaussian of standard deviation sigma pixels and scaled by alpha pixels. Both are
applied as one inverse map: every output pixel reads the input at the point that moves onto it,
with bilinear interpolation and zeros outside the image. No loop over the images.

Coordinates of the maps (warp_affine): pixels, x to the right and y UP from the image centre
((W - 1) / 2, (H - 1) / 2), so that a positive angle turns the image counter-clockwise as
np.rot90 does. Labels are not seen here: a distortion keeps an image's class.
"""
from dataclasses import dataclass

import numpy as np

STREAM = 2       # the last word of an augmentation rng's seed: its own stream of the run's seed
# Pixels beyond which a shift or a displacement only moves every pixel out of any image, and
# float32 coordinates would lose the pixel (at 1e300 they overflowed to an index of -2^63).
MOST_PIXELS = 1e4


@dataclass(frozen=True)
class Params:
    """The ranges each image's distortion is drawn from (uniformly in each).

    degrees        rotation in [-degrees, degrees] (counter-clockwise positive)
    scale          (low, high): isotropic scaling factor, 1 keeps the size
    shift          pixels, each of x and y in [-shift, shift]
    elastic_alpha  pixels: the elastic field's scale; 0 turns elastic distortion off
    elastic_sigma  pixels: standard deviation of the Gaussian that smooths the field
    flip           mirror each image left to right with probability 1/2 (a coat stays a coat;
                   a 2 does not stay a 2, so never for digits)
    """
    degrees: float = 12.0
    scale: tuple = (0.9, 1.1)
    shift: float = 2.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    flip: bool = False

    def __post_init__(self):
        if not isinstance(self.flip, bool):
            raise ValueError(f"flip must be True or False, not {self.flip!r}")
        if not (isinstance(self.scale, tuple) and len(self.scale) == 2):
            raise ValueError(f"scale must be (low, high), not {self.scale!r}")
        low, high = self.scale
        for name, value, most in (("degrees", self.degrees, np.inf), ("scale", low, np.inf),
                                  ("scale", high, np.inf), ("shift", self.shift, MOST_PIXELS),
                                  ("elastic_alpha", self.elastic_alpha, MOST_PIXELS),
                                  ("elastic_sigma", self.elastic_sigma, MOST_PIXELS)):
            number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            if not (number and 0 <= value < most) or (name == "elastic_sigma" and value == 0):
                below = f" below {most:g}" if most < np.inf else ""
                raise ValueError(f"{name} must be a finite number >= 0{below}"
                                 f"{' and not 0' * (name == 'elastic_sigma')}, not {value!r}")
        if not 0 < low <= high:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, not {self.scale}")


# Chosen for 28x28 digits: within what Simard et al. and LeCun et al. (1998, section III.C's
# distortions) used. Elastic is off by default: it doubles the cost (on the 2-core machine of
# benchmarks/augment_cost.py, per 60,000-image epoch: affine 0.48 s, affine + elastic 1.0 s,
# against 1.6 s of the default MLP's NumPy steps and 7.5 s of the CNN's) and did not pay on
# top of the affine maps: the MLP, 20 epochs on 10,000 MNIST images, held-out accuracy (mean
# of 2 seeds) none 97.29 %, affine 97.81 %, elastic alone 97.73 %, both 97.34 %.
DEFAULT = Params()
ELASTIC = Params(elastic_alpha=34.0, elastic_sigma=4.0)      # Simard et al.'s alpha and sigma
IDENTITY = Params(degrees=0.0, scale=(1.0, 1.0), shift=0.0)
# For clothing (Fashion-MNIST): its images are upright and centred, so no rotation or scaling;
# a left-right mirror and a shift keep every class, as the random flips and crops of CIFAR's
# standard augmentation do (He et al., "Deep residual learning", 2016, section 4.2). Measured
# on Fashion-MNIST's CNN, neither paid: affine cost 1.6 points, mirror 1.4 (docs/defaults.md).
MIRROR = Params(degrees=0.0, scale=(1.0, 1.0), shift=2.0, flip=True)
# --distortion's choices: what --augment draws
DISTORTIONS = {"affine": DEFAULT, "elastic": ELASTIC, "mirror": MIRROR}


def rng_for(seed, epoch, step):
    """The Generator of training step `step` of epoch `epoch` in a run of `seed`: the one the
    training loop passes to augment, np.random.default_rng([seed, epoch, step, 2]). The last
    word keeps the stream apart from the run's other uses of the seed (weights, batch order)."""
    return np.random.default_rng([seed, epoch, step, STREAM])


def augment(x, image_shape, rng, params=DEFAULT):
    """x (B, H * W) floats in [0, 1], rows one after another; image_shape (H, W); rng a
    np.random.Generator -> a new (B, H * W) array of x's dtype in [0, 1]: each image rotated,
    scaled and shifted (and elastically distorted where params say so) by its own random draw.

    The draws, in this order: angles (B,), scales (B,), shifts (B, 2) in float64, then the
    mirrors (B,) uniform in [0, 1) (below 1/2: mirrored), only where params.flip, then the
    elastic fields (2, B, H, W) in float32, only where params.elastic_alpha > 0. The same rng
    state gives the same images, bit for bit. ValueError if x is not (B, H * W) floats in
    [0, 1] or rng not a Generator.
    Time: about 2 ms per 256 28x28 images, 4 ms with elastic (benchmarks/augment_cost.py)."""
    x = np.asarray(x)
    n, dtype = check(x, image_shape)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (rng_for), not {rng!r}")
    angle = np.deg2rad(rng.uniform(-params.degrees, params.degrees, n))
    scale = rng.uniform(*params.scale, n)
    shift = rng.uniform(-params.shift, params.shift, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = scale[:, None, None] * np.stack([np.stack([cos, -sin], -1),
                                              np.stack([sin, cos], -1)], -2)      # (B, 2, 2)
    if params.flip:                              # x -> -x first: the first column's sign
        matrix[:, :, 0] *= np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None]
    rows, cols = source_points(matrix, shift, image_shape, dtype)
    if params.elastic_alpha > 0:
        d_rows, d_cols = elastic_fields(rng, n, image_shape, params.elastic_alpha,
                                        params.elastic_sigma, dtype)
        rows += d_rows
        cols += d_cols
    return sample(x, image_shape, rows, cols)


def warp_affine(x, image_shape, matrix, offset):
    """x (B, H * W) moved by the affine maps p -> matrix @ p + offset, one per image: matrix
    (B, 2, 2) or (2, 2), offset (B, 2) or (2,) in pixels, p = (x right, y up) from the image
    centre. E.g. offset (2, 0) moves every image 2 pixels right; matrix [[0, -1], [1, 0]] turns
    it 90 degrees counter-clockwise. -> (B, H * W), x's dtype. ValueError if a matrix is
    singular or x is not (B, H * W)."""
    x = np.asarray(x)
    n, dtype = check(x, image_shape)
    matrix = np.broadcast_to(np.asarray(matrix, np.float64), (n, 2, 2))
    offset = np.broadcast_to(np.asarray(offset, np.float64), (n, 2))
    return sample(x, image_shape, *source_points(matrix, offset, image_shape, dtype))


def check(x, image_shape):
    """(batch size, dtype of the coordinates: float64 for float64 images, else float32), after
    checking that x is (B, H * W) floats in [0, 1] (no NaN)."""
    if x.ndim != 2 or x.shape[1] != image_shape[0] * image_shape[1]:
        raise ValueError(f"x must be (images, {image_shape[0]} * {image_shape[1]}), "
                         f"not {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must hold floats in [0, 1], not {x.dtype}")
    if x.size and not (x.min() >= 0 and x.max() <= 1):               # False for NaN too
        raise ValueError(f"x must hold floats in [0, 1], not values from {x.min()} to "
                         f"{x.max()}")
    return x.shape[0], np.result_type(x.dtype, np.float32)


def source_points(matrix, offset, image_shape, dtype=np.float64):
    """(rows, cols), each (B, H, W) of `dtype`: where in the input each output pixel reads,
    under the inverse of p -> matrix @ p + offset (p = (x right, y up) from the centre). The
    2x2 inverses are taken in float64, the per-pixel products in `dtype` (x's: float32 halves
    the memory the batch's coordinates pass through, and is exact to about 1e-5 pixel)."""
    h, w = image_shape
    if np.any(np.abs(np.linalg.det(matrix)) < 1e-12):
        raise ValueError("an affine matrix is singular: the image would collapse")
    inverse = np.linalg.inv(matrix).astype(dtype)[:, :, :, None, None]   # (B, 2, 2, 1, 1)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    px = (np.arange(w) - cx).astype(dtype)                            # (W,) x of each column
    py = (cy - np.arange(h)).astype(dtype)                            # (H,) y of each row (up)
    qx = px[None, None, :] - offset[:, 0, None, None].astype(dtype)   # (B, 1, W)
    qy = py[None, :, None] - offset[:, 1, None, None].astype(dtype)   # (B, H, 1)
    src_x = inverse[:, 0, 0] * qx + inverse[:, 0, 1] * qy             # (B, H, W)
    src_y = inverse[:, 1, 0] * qx + inverse[:, 1, 1] * qy
    return np.subtract(cy, src_y, dtype=dtype), np.add(src_x, cx, dtype=dtype)


def sample(x, image_shape, rows, cols):
    """x (B, H * W) read at (rows, cols) (each (B, H, W), in pixels, row 0 at the top) with
    bilinear interpolation, zero outside the image -> (B, H * W) of x's dtype, clipped to
    [0, 1] (interpolation cannot leave it, rounding might by an ulp)."""
    h, w = image_shape
    n = x.shape[0]
    # A point is first clipped into [-1, H] x [-1, W]: one outside reads only zeros there as it
    # would anywhere outside, one inside is unchanged. Its four neighbours then lie in a frame
    # of zeros, 1 pixel wide at the top and left and 2 at the bottom and right, so one index
    # per point reads them all, from the flat array shifted by 0, 1, a row, a row and 1.
    stride = w + 3
    padded = np.zeros((n, h + 3, stride), x.dtype)
    padded[:, 1:h + 1, 1:w + 1] = x.reshape(n, h, w)
    flat = padded.reshape(-1)
    rows, cols = np.clip(rows, -1, h), np.clip(cols, -1, w)
    r0, c0 = np.floor(rows), np.floor(cols)
    fr = (rows - r0).astype(x.dtype, copy=False)
    fc = (cols - c0).astype(x.dtype, copy=False)
    first = (r0 * stride + c0).astype(np.intp)                        # exact: small integers
    first += (np.arange(n) * (h + 3) * stride + stride + 1)[:, None, None]
    top, top_right = flat.take(first), flat[1:].take(first)
    bottom, bottom_right = flat[stride:].take(first), flat[stride + 1:].take(first)
    top += fc * (top_right - top)
    bottom += fc * (bottom_right - bottom)
    top += fr * (bottom - top)
    return np.clip(top, 0, 1, out=top).reshape(n, h * w)


def elastic_fields(rng, n, image_shape, alpha, sigma, dtype=np.float32):
    """(d_rows, d_cols), each (n, H, W) of dtype, in pixels: Simard et al.'s displacement
    fields, uniform in [-1, 1) per pixel, smoothed by a Gaussian of sigma pixels, times alpha.
    Drawn and blurred in float32 whatever dtype: the same fields for float32 and float64
    images, half the time of float64 draws, and float64 products of this shape ran 6 times
    slower than float32 ones here; a displacement needs no more than float32's 1e-7."""
    h, w = image_shape
    field = rng.random((2, n, h, w), dtype=np.float32)
    field = 2 * field - 1
    # G_h @ field @ G_w^T: each column blurred by G_h, each row by G_w (Gaussian blur is
    # separable). In float32 by BLAS for the whole batch at once; the result comes out
    # contiguous, as the coordinates it is added to are.
    g_h = blur_matrix(h, sigma).astype(np.float32)
    g_w = (alpha * blur_matrix(w, sigma)).astype(np.float32)
    field = (g_h @ (field @ g_w.T)).astype(dtype, copy=False)
    return field[0], field[1]


def blur_matrix(size, sigma):
    """(size, size) float64 G with G @ v the Gaussian blur of v (length size) along its first
    axis: the normalised kernel exp(-k^2 / (2 sigma^2)), |k| <= 4 sigma as scipy.ndimage's
    gaussian_filter truncates it, the signal mirrored at its ends (scipy's mode 'reflect':
    d c b a | a b c d). Blurring rows then columns by matrix products is the separable 2-D
    Gaussian blur, done for the whole batch by BLAS."""
    radius = int(4 * sigma + 0.5)
    k = np.arange(-radius, radius + 1)
    kernel = np.exp(-k ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    i = np.arange(size)[:, None] + k[None, :]                         # (size, taps) read at
    i = np.mod(i, 2 * size)                                           # mirror, periodic in 2n
    i = np.where(i >= size, 2 * size - 1 - i, i)
    g = np.zeros((size, size))
    np.add.at(g, (np.repeat(np.arange(size), k.size), i.ravel()), np.tile(kernel, size))
    return g
