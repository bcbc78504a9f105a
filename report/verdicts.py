"""How a generated section judges: a target met or missed, the chance that the twins' gap is
the draw's (McNemar's exact test, training/discordance.py), what a --quick run is and that it
is not judged."""
import numpy as np
import pandas as pd

from training.defaults import QUICK_TEST, QUICK_TRAIN
from training.discordance import most_unlike_chance


def verdict(ok):
    return "**met**" if ok else "**missed**"


def at_most(value, bound):
    """value <= bound, up to float noise: a gap of 10 images in 10,000 is 100 * |0.981 - 0.980|
    = 0.10000000000000009 points, within 0.10. Every section judges a bound by this, so that
    none calls missed what another calls met (1e-9 is far below one image of any test set)."""
    return value <= bound + 1e-9


def at_least(value, bound):
    """value >= bound, up to float noise (an accuracy, a fraction: 1e-9 is below any image)."""
    return value >= bound - 1e-9


def quick_run(rows, every=False):
    """Whether results rows come from a compare.py --quick run (their column quick; rows from
    before it was written are full runs): any of them, or with every, all of them."""
    marked = rows["quick"].astype(str).str.lower().eq("true") if "quick" in rows else None
    return marked is not None and bool(marked.all() if every else marked.any())


QUICK_RUN = (f"the first {QUICK_TRAIN:,} training and {QUICK_TEST:,} test images, 1 epoch, "
             f"1 seed")
# What a --quick run's rows say where a full run's verdicts stand: they are not judged.
QUICK_SAID = (f"a `--quick` run ({QUICK_RUN}), a first look: not held to the targets, which "
              f"are for full runs")


def chance_of(r, gap):
    """' (McNemar's exact test ...: smallest p P, seed S, G of D images apart; ...)' where the
    rows record, for every seed, the test images exactly one twin gets right (columns discordant
    and test_images, compare.py's since it counts them), and some seed's twins differ; ''
    otherwise (training/discordance.py: the model, and Sidak's correction for the worst seed).
    gap: by_seed's, points per seed."""
    if not {"discordant", "test_images"} <= set(r.columns):
        return ""
    seeds = []
    for seed, points in gap.items():
        row = r[r.seed == seed].iloc[0]
        if pd.isna(points) or pd.isna(row.discordant) or pd.isna(row.test_images):
            return ""
        d, images = int(row.discordant), round(points * row.test_images / 100)
        if images > d or (d - images) % 2:           # not counted from the same answers
            return ""
        seeds.append((seed, d, images))
    seed, d, images, p, p_any = most_unlike_chance(seeds)
    if images == 0:                                   # the twins' accuracies equal on every seed
        return ""
    worst = f"; chance alone puts one of {len(seeds)} seeds this far out with probability " \
        f"at most {probability(p_any)}" if len(seeds) > 1 else ""
    return (f" (McNemar's exact test on the test images right in one twin only: smallest p "
            f"{probability(p)}, seed {int(seed)}, {images} of {d} images apart{worst})")


def probability(p):
    """p as shown: two decimals, or two digits where it is below 0.01 (a twin fault's p); a
    positive p below 1e-300 (training/discordance.floored floors an underflow at the
    smallest float) as such; 0 only where no way of the coins gives it."""
    if p == 0:
        return "0"
    if p < 1e-300:
        return "< 1e-300"
    return f"{p:.2f}" if p >= 0.00995 else f"{p:.1e}"          # 0.00999 is 0.01, not 1.0e-02


def seconds_or_never(s):
    """Seconds to an accuracy as shown: NaN (a twin that never reached it) as never."""
    return "never" if np.isnan(s) else f"{s:.1f} s"
