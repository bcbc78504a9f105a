"""How far two trainings' test accuracies part by chance alone: the test images on which exactly
one of two weights files is right (D), and what that number allows the gap between them to be:
McNemar's exact test, as training/discordance.py states it (the model and its source).

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
from report.verdicts import probability
from storage.atomic import FileError
from training import models, weights_file
from training.discordance import chance_all, chance_beyond, chance_within, discordant, sd_points
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


def right_answers(path, config, data, threads):
    """(N,) bool: which of data's test images (the file's data set, in the dtype its config
    records) the file's network, in the twin that wrote it, gets right."""
    params, cfg = initial_params(Config(dataset=weights_file.trained_on(config),
                                        dtype=data.x_test.dtype.name), path)
    twin = load_twin(config.get("twin", "numpy"), "cpu", threads)
    return predictions(twin, models.build(twin, cfg, params), data.x_test) == data.y_test


def unlike(configs):
    """Why two weights files' configs are not two runs of one recipe (a sentence), or None. The
    twin and the seed may differ (two seeds are two runs of it); a field one file lacks (files
    from before it was recorded) counts as its default."""
    default = Config().to_dict()
    differ = sorted(k for k in set(configs[0]) | set(configs[1]) if k not in ("twin", "seed")
                    and configs[0].get(k, default.get(k)) != configs[1].get(k, default.get(k)))
    return f"the files differ in {', '.join(differ)}" if differ else None


def images(count):
    return f"{count} image{'s' * (count != 1)}"


def within_bound(text):
    """argparse type of --within: points from 0 to 100."""
    value = float(text)
    if not 0 <= value <= 100:                     # NaN too
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 points, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.twin_disagreement",
                                     description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("weights", nargs=2, help="two .npz files of main_np.py / main_torch.py")
    parser.add_argument("--within", type=within_bound, default=0.10,
                        help="the gap asked for, in points (default 0.10: the twins' target in "
                             "the README's tables)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="how many seeds must all keep their gap within it (default 3)")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:                 # past that p^k is 0 or 1 to any digit
        parser.error(f"--seeds must be between 1 and 1000, got {args.seeds}")
    try:
        configs = [weights_file.load_weights(path)[1] for path in args.weights]
        sets = [weights_file.trained_on(config) for config in configs]
        if sets[0] != sets[1]:
            return fail(f"the files were trained on different data sets ({sets[0]}, {sets[1]})")
        dtypes = [config.get("dtype", "float32") for config in configs]
        data = {dtype: load(sets[0], dtype=dtype, allow_download=False) for dtype in set(dtypes)}
        a, b = (right_answers(path, config, data[dtype], len(os.sched_getaffinity(0)))
                for path, config, dtype in zip(args.weights, configs, dtypes))
    except ERRORS as e:
        return fail(str(e))
    why = unlike(configs)
    if os.path.samefile(*args.weights):
        why = "both name one file"
    if why:                                       # the coin flips assume one recipe twice
        print(f"twin_disagreement: warning: {why}: not two runs of one recipe, which the "
              f"chances below assume", file=sys.stderr)
    n, d = len(a), discordant(a, b)
    for path, config, right in zip(args.weights, configs, (a, b)):
        print(f"{path} ({config.get('twin', 'numpy')}): {100 * right.mean():.2f}% of the "
              f"{n:,} test images of {sets[0]}")
    gap = abs(int(a.sum()) - int(b.sum()))
    print(f"gap {100 * gap / n:.2f} points ({images(gap)}); right in exactly one: {d}")
    beyond = chance_beyond(d, gap)
    print(f"by chance alone (each of the {d} a coin flip): the gap's standard deviation "
          f"{sd_points(d, n):.3f} points; this gap is "
          f"{gap / d ** 0.5 if d else 0:.1f} of them, one as large or larger has "
          f"probability {probability(beyond)}")
    k = math.floor(args.within * n / 100 + 1e-9)
    p = chance_within(d, k)
    print(f"within {args.within:g} points ({images(k)}): probability {probability(p)} on a "
          f"seed, {probability(chance_all(p, args.seeds))} on all {args.seeds} (if every "
          f"seed's twins part as far, independently)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
