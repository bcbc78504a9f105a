"""How far two trainings' test accuracies part by chance alone: the test images on which exactly
one of two weights files is right, and what that number allows the gap between them to be.

Jordan ("Calibrated Chaos: Variance Between Runs of Neural Network Training is Harmless and
Inevitable", ICLR 2024) finds that repeated trainings make nearly independent errors: which of
the test set's borderline images a run gets right is a draw. Of the D images that exactly one of
two runs gets right, each is then a fair coin for which run it favours, so the gap between them,
in images, is 2 X - D with X ~ Binomial(D, 1/2): standard deviation sqrt(D) images. Two twins
whose float32 sums part them (docs/defaults.md) are two such runs; a gap far outside this is the
twins', not the draw's.

    python -m benchmarks.twin_disagreement numpy.npz torch.npz [--within 0.10] [--seeds 3]

Each file is evaluated by the twin that wrote it, on the test set of the data set it was
trained on (both files must name the same one).
"""

import argparse
import math
import os
import sys

from datasets.base import DataError
from datasets.catalog import load
from storage.atomic import FileError
from training import models, weights_file
from training.config import Config
from training.loop import predictions
from training.start import RunError, initial_params
from twins import load_twin
from twins.base import TwinError

ERRORS = (DataError, FileError, RunError, models.ModelError, TwinError, ImportError)


def fail(message):
    """The command's one-line error on stderr; exit code 1."""
    print(f"twin_disagreement: error: {message}", file=sys.stderr)
    return 1


def chance_within(d, k):
    """P(|2 X - d| <= k) for X ~ Binomial(d, 1/2): the chance that d coin flips, each moving the
    gap one image either way, leave it within k images. Exact (integer arithmetic)."""
    return sum(math.comb(d, x) for x in range(d + 1) if abs(2 * x - d) <= k) / 2 ** d


def right_answers(path, dataset, twin_name, threads):
    """(N,) bool: which test images of `dataset` the file's network, in `twin_name`, gets
    right."""
    params, cfg = initial_params(Config(dataset=dataset), path)
    data = load(dataset, dtype=cfg.dtype, allow_download=False)
    twin = load_twin(twin_name, "cpu", threads)
    return predictions(twin, models.build(twin, cfg, params), data.x_test) == data.y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("weights", nargs=2, help="two .npz files of main_np.py / main_torch.py")
    parser.add_argument("--within", type=float, default=0.10,
                        help="the gap asked for, in points (default 0.10: the layers issue's)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="how many seeds must each keep their gap within it (default 3)")
    args = parser.parse_args(argv)
    if args.within < 0 or args.seeds < 1:
        parser.error("--within must be at least 0 and --seeds at least 1")
    try:
        saved = [weights_file.load_weights(path)[1] for path in args.weights]
        sets = [weights_file.trained_on(config) for config in saved]
        if sets[0] != sets[1]:
            return fail(f"the files were trained on different data sets ({sets[0]}, {sets[1]})")
        names = [config.get("twin", "numpy") for config in saved]
        a, b = (right_answers(path, sets[0], name, len(os.sched_getaffinity(0)))
                for path, name in zip(args.weights, names))
    except ERRORS as e:
        return fail(str(e))
    n, d = len(a), int((a != b).sum())
    for path, name, right in zip(args.weights, names, (a, b)):
        print(f"{path} ({name}): {100 * right.mean():.2f}% of the {n:,} test images of {sets[0]}")
    gap = int(a.sum()) - int(b.sum())
    print(f"gap {100 * abs(gap) / n:.2f} points ({abs(gap)} images); right in exactly one: {d}")
    k = math.floor(args.within * n / 100 + 1e-9)
    p = chance_within(d, k)
    print(f"by chance alone: the gap's standard deviation {100 * math.sqrt(d) / n:.3f} points; "
          f"within {args.within:g} points ({k} images) with probability {p:.2f} on a seed, "
          f"{p ** args.seeds:.2f} on each of {args.seeds} (if every seed's D is as this one's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
