"""How far two trainings' test accuracies part by chance alone: McNemar's exact test on the
test images exactly one of them gets right (the discordant pairs).

Jordan ("Calibrated Chaos: Variance Between Runs of Neural Network Training is Harmless and
Inevitable", ICLR 2024) finds that repeated trainings make nearly independent errors: which of
the test set's borderline images a run gets right is a draw. Of the D images that exactly one of
two runs gets right, each is then a fair coin for which run it favours, so the gap between them,
in images, is 2 X - D with X ~ Binomial(D, 1/2): standard deviation sqrt(D) images. This is
McNemar's test (Psychometrika 12, 1947) in its exact, binomial form. Two twins whose float32
sums part them (docs/defaults.md) are two such runs if Jordan's finding, made on CIFAR-10 and
ImageNet, holds for them (an extrapolation); then a gap far outside this is the twins', not the
draw's.
"""
import math
import sys

import numpy as np


def discordant(right_a, right_b):
    """The number of images exactly one of two networks gets right. right_a, right_b: (N,) bool,
    which of the same N test images each gets right."""
    return int(np.count_nonzero(np.asarray(right_a) != np.asarray(right_b)))


def ways_beyond(d, gap):
    """How many of the 2^d ways d coin flips can fall part the networks by `gap` images or
    more: |2 x - d| >= gap, x the flips one way. Exact integers; the two tails are mirror
    images, each summed term from term (comb(d, x + 1) = comb(d, x) (d - x) / (x + 1)), so
    d = 10,000 takes milliseconds, not the seconds of a comb() per term."""
    if gap <= 0:
        return 2 ** d
    tail, term = 0, 1
    for x in range((d - gap) // 2 + 1):          # x <= (d - gap) / 2: the lower tail
        tail += term
        term = term * (d - x) // (x + 1)
    return 2 * tail


def floored(chance, possible):
    """chance as a float: 0 only where it is impossible; a possible one below the smallest
    normal float is that float, 2.2e-308 (report.verdicts.probability shows it as < 1e-300),
    not 0 (nor a subnormal, which a process whose math library flushes them reads as 0)."""
    return max(chance, sys.float_info.min) if possible else 0.0


def as_probability(ways, d):
    """ways / 2^d as a float, floored (floored)."""
    return floored(ways / 2 ** d, ways > 0)


def chance_within(d, k):
    """P(|2 X - d| <= k) for X ~ Binomial(d, 1/2): the chance that d coin flips, each moving the
    gap one image either way, leave it within k images. Exact (integer arithmetic)."""
    return as_probability(2 ** d - ways_beyond(d, k + 1), d)


def chance_beyond(d, gap):
    """McNemar's exact two-sided p-value: P(|2 X - d| >= gap), X ~ Binomial(d, 1/2), the chance
    that d coin flips part two networks by `gap` images or more. gap: whole images, >= 0.
    The tail is counted itself, not taken from 1 - chance_within: a small p keeps its digits."""
    return as_probability(ways_beyond(d, gap), d)


def chance_all(p, k):
    """p^k, the chance that k independent seeds all do what each does with chance p, floored:
    a positive chance never shows as 0."""
    return floored(p ** k, p > 0)


def most_unlike_chance(seeds):
    """seeds: (seed, discordant images d, gap in whole images) for each seed of a run ->
    (seed, d, gap, p, p_any): the seed whose gap chance alone explains least (smallest McNemar
    p; on a tie the larger gap, then the first seed), and the chance that at least one of the
    k = len(seeds) seeds, independently, shows a p that small (Sidak's 1 - (1 - p)^k: the p of
    the worst seed, corrected for its having been picked as the worst; an upper bound, as
    exact p-values of whole images are never smaller than uniform ones)."""
    scored = [(chance_beyond(d, gap), -gap, i, seed, d, gap)
              for i, (seed, d, gap) in enumerate(seeds)]
    p, _, _, seed, d, gap = min(scored)
    # 1 - (1 - p)^k in logarithms: 1 - p rounds to 1 for p below 1e-16 (every twin fault's),
    # which made the chance 0
    p_any = -math.expm1(len(seeds) * math.log1p(-p)) if p < 1 else 1.0
    return seed, d, gap, p, floored(p_any, p > 0)


def sd_points(d, n):
    """The gap's standard deviation under the coin flips, in percentage points of n images."""
    return 100 * math.sqrt(d) / n
