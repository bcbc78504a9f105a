"""A synthetic first data set: 16x16 images each holding one horizontal or one vertical line.

    class 0: a horizontal line,  class 1: a vertical line

Each line has its own position, length (6 to 16 pixels), thickness (1 or 2) and brightness
(0.6 to 1), over a little Gaussian noise (sigma 0.05) clipped to [0, 1]. A line is always at
least 3 pixels longer than it is thick, so no image could be read as either class. Generated in
milliseconds from fixed seeds: the same images for both twins, in every process and on every
machine (NumPy's PCG64 stream is portable), so a first run needs no download.
"""
import numpy as np

SIZE = 16
SEED = 2017            # of the data, fixed: the run's --seed only chooses weights and batches
N_TRAIN, N_TEST = 10000, 2000


def generate(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    """-> (train images (n_train, 16, 16) uint8, labels (n_train,), test images, labels, None),
    the training and test images drawn from two independent streams of `seed`."""
    x_train, y_train = make(n_train, np.random.default_rng([seed, 0]))
    x_test, y_test = make(n_test, np.random.default_rng([seed, 1]))
    return x_train, y_train, x_test, y_test, None


def make(n, rng):
    """n images, classes balanced (n // 2 of each, one more horizontal if n is odd), shuffled."""
    labels = rng.permutation(np.arange(n) % 2)                        # (n,)
    thick = rng.integers(1, 3, n)                                     # (n,) 1 or 2
    length = rng.integers(6, SIZE + 1, n)                             # (n,) 6..16
    across = rng.integers(0, SIZE - thick + 1)                        # (n,) first row (col) held
    along = rng.integers(0, SIZE - length + 1)                        # (n,) where the line starts
    bright = rng.uniform(0.6, 1.0, n)                                 # (n,)
    i = np.arange(SIZE)
    across_hit = (i >= across[:, None]) & (i < (across + thick)[:, None])    # (n, 16)
    along_hit = (i >= along[:, None]) & (i < (along + length)[:, None])      # (n, 16)
    horizontal = across_hit[:, :, None] & along_hit[:, None, :]       # (n, 16 rows, 16 cols)
    vertical = horizontal.transpose(0, 2, 1)
    line = np.where(labels[:, None, None] == 0, horizontal, vertical)
    image = line * bright[:, None, None] + rng.normal(0, 0.05, (n, SIZE, SIZE))
    return np.round(255 * np.clip(image, 0, 1)).astype(np.uint8), labels.astype(np.uint8)
