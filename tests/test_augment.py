"""datasets/augment.py: the same draws give the same images in any process, each image keeps its
place in the batch, and the maps move pixels where their definition says."""
import hashlib
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import ROOT
from datasets import augment as aug
from datasets import lines

SHAPE = (28, 28)


def blobs(n=16, shape=SHAPE, dtype=np.float32, seed=0):
    """n (n, H * W) images in [0, 1]: a random smooth blob of ink well inside the image (a zero
    border of 6 pixels, so that small maps keep all of it in view), some pixels exactly 1."""
    h, w = shape
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:h, :w]
    centre = rng.uniform(-2, 2, (n, 2)) + [(h - 1) / 2, (w - 1) / 2]
    d2 = (r - centre[:, 0, None, None]) ** 2 / 9 + (c - centre[:, 1, None, None]) ** 2 / 4
    x = np.clip(1.5 * np.exp(-d2 / 2), 0, 1) * (d2 < 9)
    x[:, :6], x[:, -6:], x[:, :, :6], x[:, :, -6:] = 0, 0, 0, 0
    return x.reshape(n, h * w).astype(dtype)


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --- the draws -------------------------------------------------------------------------------

CHILD = """
import hashlib, sys
import numpy as np
sys.path[:0] = [{root!r}, {tests!r}]
from test_augment import blobs, digest
from datasets import augment as aug
for params in (aug.DEFAULT, aug.ELASTIC):
    print(digest(aug.augment(blobs(64), (28, 28), aug.rng_for(7, 3, 11), params)))
"""


def test_the_same_seed_gives_the_same_images_bit_for_bit_in_other_processes():
    here = [digest(aug.augment(blobs(64), SHAPE, aug.rng_for(7, 3, 11), p))
            for p in (aug.DEFAULT, aug.ELASTIC)]
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"))
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == here


def test_rng_for_is_the_documented_generator():
    x = blobs()
    a = aug.augment(x, SHAPE, aug.rng_for(5, 2, 9), aug.ELASTIC)
    b = aug.augment(x, SHAPE, np.random.default_rng([5, 2, 9, 2]), aug.ELASTIC)
    assert np.array_equal(a, b)


def test_other_steps_epochs_and_seeds_give_other_images():
    x = blobs()
    outs = [aug.augment(x, SHAPE, aug.rng_for(*key)) for key in
            ((0, 1, 0), (0, 1, 1), (0, 2, 0), (1, 1, 0))]
    for i in range(len(outs)):
        for j in range(i):
            # every image differs, not just some: each image has its own draw
            assert np.all(np.abs(outs[i] - outs[j]).max(axis=1) > 1e-3), (i, j)
    # and within one batch, two copies of one image are distorted differently
    twice = aug.augment(np.repeat(x[:1], 2, axis=0), SHAPE, aug.rng_for(0, 1, 0))
    assert np.abs(twice[0] - twice[1]).max() > 1e-3


def test_augment_follows_its_documented_draws():
    """augment's affine part is warp_affine of the rotation, scaling and shift drawn in the
    documented order (angles, scales, shifts) from the same Generator."""
    x, params = blobs(), aug.DEFAULT
    rng = aug.rng_for(1, 1, 1)
    angle = np.deg2rad(rng.uniform(-params.degrees, params.degrees, len(x)))
    scale = rng.uniform(*params.scale, len(x))
    shift = rng.uniform(-params.shift, params.shift, (len(x), 2))
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = scale[:, None, None] * np.array([[cos, -sin], [sin, cos]]).transpose(2, 0, 1)
    expected = aug.warp_affine(x, SHAPE, matrix, shift)
    assert np.array_equal(aug.augment(x, SHAPE, aug.rng_for(1, 1, 1), params), expected)


def test_the_mirror_is_drawn_after_the_shifts_and_flips_the_first_axis():
    """With params.flip, a uniform draw per image after the shifts, below 1/2 mirroring it: the
    matrix's first column negated (x -> -x before the rest of the map)."""
    x, params = blobs(), aug.Params(degrees=30.0, scale=(0.8, 1.2), shift=2.0, flip=True)
    rng = aug.rng_for(2, 3, 4)
    angle = np.deg2rad(rng.uniform(-params.degrees, params.degrees, len(x)))
    scale = rng.uniform(*params.scale, len(x))
    shift = rng.uniform(-params.shift, params.shift, (len(x), 2))
    mirrored = rng.random(len(x)) < 0.5
    assert 0 < mirrored.sum() < len(x)                   # both kinds in this batch of 16
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = scale[:, None, None] * np.array([[cos, -sin], [sin, cos]]).transpose(2, 0, 1)
    matrix[mirrored] = matrix[mirrored] @ np.diag([-1.0, 1.0])
    expected = aug.warp_affine(x, SHAPE, matrix, shift)
    assert np.array_equal(aug.augment(x, SHAPE, aug.rng_for(2, 3, 4), params), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [SHAPE, (12, 20)])
def test_mirror_without_a_shift_flips_each_image_exactly_or_keeps_it(dtype, shape):
    """A flip of a W-pixel row maps column c onto W - 1 - c: whole pixels, so exact; about
    half the images of a batch, the others untouched; the affine draws stay MNIST's."""
    x = np.random.default_rng(3).random((64, shape[0] * shape[1])).astype(dtype)
    images = x.reshape(-1, *shape)
    out = aug.augment(x, shape, aug.rng_for(0, 1, 0), replace(aug.MIRROR, shift=0.0))
    out = out.reshape(images.shape)
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert np.all(flipped ^ kept) and 20 < flipped.sum() < 44
    assert out.dtype == dtype


def test_distortion_presets_name_what_they_draw():
    """--distortion's choices: MNIST's affine maps, the same with Simard's elastic field, and
    clothing's mirror: flips and shifts, with neither rotation nor scaling."""
    assert aug.DISTORTIONS == {"affine": aug.DEFAULT, "elastic": aug.ELASTIC,
                               "mirror": aug.MIRROR}
    assert not aug.DEFAULT.flip and not aug.ELASTIC.flip and aug.ELASTIC.elastic_alpha > 0
    assert aug.MIRROR.flip and aug.MIRROR.degrees == 0 and aug.MIRROR.scale == (1.0, 1.0)
    assert aug.MIRROR.shift > 0 and aug.MIRROR.elastic_alpha == 0


# --- what the maps do ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [SHAPE, (16, 16), (12, 20)])
def test_identity_parameters_return_the_input_exactly(dtype, shape):
    x = np.random.default_rng(1).random((8, shape[0] * shape[1])).astype(dtype)
    out = aug.augment(x, shape, aug.rng_for(0, 1, 0), aug.IDENTITY)
    assert out.dtype == dtype and np.array_equal(out, x)
    assert out is not x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_shift_moves_the_image_by_exactly_that_many_pixels(dtype):
    x = blobs(dtype=dtype)
    images = x.reshape(-1, *SHAPE)
    right = aug.warp_affine(x, SHAPE, np.eye(2), [2, 0]).reshape(images.shape)
    assert np.array_equal(right, np.roll(images, 2, axis=2))         # ink is 6 px from edges
    up = aug.warp_affine(x, SHAPE, np.eye(2), [0, 3]).reshape(images.shape)
    assert np.array_equal(up, np.roll(images, -3, axis=1))
    # a shift beyond the border reads zeros, not the image's other side
    rng = np.random.default_rng(0).random((2, 28 * 28))
    moved = aug.warp_affine(rng, SHAPE, np.eye(2), [5, 0]).reshape(2, *SHAPE)
    assert np.all(moved[:, :, :5] == 0)
    assert np.array_equal(moved[:, :, 5:], rng.reshape(2, *SHAPE)[:, :, :-5])


@pytest.mark.parametrize("shape", [(10, 10), (9, 9)])
def test_a_quarter_turn_of_a_square_image_is_rot90(shape):
    """Counter-clockwise, as np.rot90, for an even and an odd side; -90 degrees and 180 too."""
    x = np.random.default_rng(2).random((3, shape[0] * shape[1]))
    images = x.reshape(3, *shape)
    for degrees, k in ((90, 1), (-90, -1), (180, 2)):
        t = np.deg2rad(degrees)
        matrix = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
        out = aug.warp_affine(x, shape, matrix, [0, 0]).reshape(images.shape)
        # cos(pi / 2) is 6e-17, not 0: a point may read its neighbour with weight 1e-16
        assert np.abs(out - np.rot90(images, k, axes=(1, 2))).max() < 1e-6, degrees


def test_a_scaling_multiplies_the_ink_by_its_square():
    x = blobs(dtype=np.float64)
    for s in (0.9, 1.1):
        out = aug.warp_affine(x, SHAPE, s * np.eye(2), [0, 0])
        ratio = out.sum(1) / x.sum(1)
        assert np.all(np.abs(ratio / s ** 2 - 1) < 0.03), (s, ratio)


def test_small_affine_maps_keep_the_ink_to_the_scale_and_the_range():
    x = blobs(256)
    out = aug.augment(x, SHAPE, aug.rng_for(0, 1, 0), aug.DEFAULT)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.9
    ratio = out.sum(1) / x.sum(1)
    low, high = aug.DEFAULT.scale                     # the ink scales with the area: s ** 2
    assert np.all((ratio > 0.98 * low ** 2) & (ratio < 1.02 * high ** 2)), ratio
    assert abs(np.median(ratio) - 1) < 0.03


def test_elastic_maps_keep_the_ink_on_average_and_the_range():
    """An elastic field of alpha 34, sigma 4 squeezes or stretches a small blob locally (its
    ink changes by a factor 0.5 to 2 here, standard deviation 0.28), but as much one way as
    the other: the mean factor over 4,096 blobs is 1.014."""
    x = blobs(256)
    out = aug.augment(x, SHAPE, aug.rng_for(0, 1, 0), aug.ELASTIC)
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.9
    ratio = out.sum(1) / x.sum(1)
    assert abs(ratio.mean() - 1) < 0.06 and np.all((ratio > 0.3) & (ratio < 3)), ratio
    wild = replace(aug.ELASTIC, degrees=180, scale=(0.5, 2.0), shift=10, elastic_alpha=300)
    out = aug.augment(np.ones((8, 784), np.float32), SHAPE, aug.rng_for(0, 1, 0), wild)
    assert out.min() >= 0 and out.max() <= 1


def test_each_image_keeps_its_place_so_the_labels_still_match():
    """augment sees no labels: they stay right only if output i is made from image i alone."""
    x = blobs(32)
    lone = np.zeros_like(x)
    lone[5] = x[5]
    full = aug.augment(x, SHAPE, aug.rng_for(0, 1, 0), aug.ELASTIC)
    alone = aug.augment(lone, SHAPE, aug.rng_for(0, 1, 0), aug.ELASTIC)
    assert np.all(np.delete(alone, 5, axis=0) == 0)
    assert np.array_equal(alone[5], full[5])
    before = x.copy()
    aug.augment(x, SHAPE, aug.rng_for(0, 1, 0))
    assert np.array_equal(x, before)                                  # the input is not touched


def test_lines_images_16x16_in_float64():
    """The lines data set's images: float64 in, float64 out, in [0, 1]; float32 images with the
    same draws give the same images to float32's precision."""
    images = lines.generate(64, 8)[0].reshape(64, 256) / 255.0
    out = aug.augment(images, (16, 16), aug.rng_for(0, 1, 0), aug.ELASTIC)
    assert out.dtype == np.float64 and out.shape == (64, 256)
    assert out.min() >= 0 and out.max() <= 1 and not np.allclose(out, images)
    out32 = aug.augment(images.astype(np.float32), (16, 16), aug.rng_for(0, 1, 0), aug.ELASTIC)
    assert np.abs(out32 - out).max() < 1e-4


# --- the elastic field -----------------------------------------------------------------------


@pytest.mark.parametrize("size, sigma", [(28, 4.0), (16, 4.0), (28, 1.0), (5, 4.0)])
def test_the_blur_matrix_is_a_mirrored_normalised_gaussian(size, sigma):
    g = aug.blur_matrix(size, sigma)
    assert np.allclose(g.sum(1), 1)                  # a constant stays constant, even at ends
    k = np.arange(-int(4 * sigma + 0.5), int(4 * sigma + 0.5) + 1)
    kernel = np.exp(-k ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    direct = np.zeros(size)
    for j, weight in zip(k, kernel):                  # mirror "d c b a | a b c d" by hand
        i = j
        while not 0 <= i < size:
            i = -1 - i if i < 0 else 2 * size - 1 - i
        direct[i] += weight
    assert np.allclose(g[0], direct)


def test_the_elastic_field_has_the_size_alpha_and_sigma_give_it():
    """Each interior displacement: alpha times a Gaussian average of uniforms on [-1, 1]
    (variance 1/3), so its standard deviation is alpha * sqrt(1/3) * sum of the 2-D kernel's
    squares ** 0.5; and neighbours move together (correlation near 1 at 1 pixel for sigma 4)."""
    alpha, sigma = 34.0, 4.0
    d_rows, d_cols = aug.elastic_fields(np.random.default_rng(0), 2000, SHAPE, alpha, sigma)
    g = aug.blur_matrix(28, sigma)[14]
    expected = alpha * np.sqrt(1 / 3) * (g ** 2).sum()
    for d in (d_rows, d_cols):
        assert abs(d[:, 14, 14].std() / expected - 1) < 0.08
        assert abs(d.mean()) < 0.05 * expected
        assert np.corrcoef(d[:, 14, 14], d[:, 14, 15])[0, 1] > 0.9
    assert abs(np.corrcoef(d_rows[:, 14, 14], d_cols[:, 14, 14])[0, 1]) < 0.1


# --- what is refused ------------------------------------------------------------------------


def test_bad_shapes_dtypes_and_ranges_are_refused():
    rng = aug.rng_for(0, 1, 0)
    with pytest.raises(ValueError, match="28 \\* 28"):
        aug.augment(np.zeros((4, 256)), SHAPE, rng)
    with pytest.raises(ValueError, match="floats"):
        aug.augment(np.zeros((4, 784), np.uint8), SHAPE, rng)
    with pytest.raises(ValueError, match="singular"):
        aug.warp_affine(np.zeros((4, 784)), SHAPE, np.zeros((2, 2)), [0, 0])
    for bad in (dict(scale=(1.1, 0.9)), dict(scale=(0, 1)), dict(degrees=-1),
                dict(shift=float("nan")), dict(elastic_sigma=0),
                # infinite or huge-as-infinite ranges overflowed the draws or the indices;
                # strings and None were TypeErrors, and "no" counted as a flip
                dict(shift=float("inf")), dict(elastic_alpha=float("inf")), dict(shift=1e300),
                dict(scale=(0.9, float("inf"))), dict(degrees="12"), dict(degrees=None),
                dict(flip="no"), dict(flip=1), dict(scale=0.9), dict(shift=True)):
        with pytest.raises(ValueError):
            aug.Params(**bad)
    # images outside [0, 1] (NaN, or a 0-255 scale) came back changed by the clip, silently
    for x in (np.full((2, 784), np.nan), np.full((2, 784), 255.0), np.full((2, 784), -0.5)):
        with pytest.raises(ValueError, match="in \\[0, 1\\], not values from"):
            aug.augment(x, SHAPE, rng, aug.IDENTITY)
    with pytest.raises(ValueError, match="Generator"):
        aug.augment(np.zeros((2, 784)), SHAPE, 0)
