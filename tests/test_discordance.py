"""training/discordance.py: McNemar's exact test on the images exactly one of two networks gets
right, checked against every way the coins can fall."""
import itertools
import math

import numpy as np

from training.discordance import (chance_beyond, chance_within, discordant,
                                  most_unlike_chance, sd_points)


def every_gap(d):
    """The gap, in images, of each of the 2**d ways d coin flips can fall."""
    return [sum(flips) for flips in itertools.product((1, -1), repeat=d)]


def test_chance_within_counts_every_way_the_coins_can_fall():
    assert chance_within(0, 0) == 1                   # no image to part them: gap 0
    assert chance_within(1, 0) == 0                   # one image: the gap is always 1
    assert chance_within(2, 0) == 0.5
    for d, k in itertools.product(range(9), range(11)):
        assert chance_within(d, k) == sum(abs(g) <= k for g in every_gap(d)) / 2 ** d


def test_chance_beyond_is_mcnemars_two_sided_exact_p_value():
    assert chance_beyond(0, 0) == 1 and chance_beyond(5, 0) == 1
    assert chance_beyond(1, 1) == 1                   # one image always parts them by one
    assert chance_beyond(4, 4) == 2 / 16              # all four the same way, either way
    for d, gap in itertools.product(range(9), range(10)):
        assert math.isclose(chance_beyond(d, gap),
                            sum(abs(g) >= gap for g in every_gap(d)) / 2 ** d)
    # a textbook case: 10 discordant pairs split 9 to 1, exact two-sided p = 22 / 1024
    assert math.isclose(chance_beyond(10, 8), 22 / 1024)
    # a far gap keeps its digits: all 60 one way, 2 / 2**60, not 0 or rounding noise
    assert math.isclose(chance_beyond(60, 60), 2 / 2 ** 60, rel_tol=1e-12)


def test_the_seed_most_unlike_chance_and_the_chance_of_one_in_k_as_far_out():
    # seed 1's 13 of 96 is further out than seed 2's 14 of 200, though a smaller gap
    seeds = [(0, 80, 0), (1, 96, 13), (2, 200, 14)]
    seed, d, gap, p, p_any = most_unlike_chance(seeds)
    assert (seed, d, gap, p) == (1, 96, 13, chance_beyond(96, 13))
    assert chance_beyond(200, 14) > p and math.isclose(p_any, 1 - (1 - p) ** 3)
    # equal p: the larger gap (13 and 14 share it: an odd d makes only odd gaps), then the first
    assert most_unlike_chance([(5, 9, 1), (6, 9, 0)])[0] == 5
    assert most_unlike_chance([(7, 9, 3), (8, 9, 3)])[0] == 7
    assert most_unlike_chance([(0, 5, 0)])[3:] == (1.0, 1.0)      # nothing unlike chance
    # a twin fault's p: 1 - (1 - p)^3 was 0 below 1e-16 ("at most 0"); about 3 p it is
    p, p_any = most_unlike_chance([(0, 200, 200), (1, 9, 1), (2, 9, 1)])[3:]
    assert p == 2 / 2 ** 200 and math.isclose(p_any, 3 * p, rel_tol=1e-12)


def test_discordant_counts_images_exactly_one_network_gets_right():
    a = np.array([True, True, False, False, True])
    b = np.array([True, False, True, False, False])
    assert discordant(a, b) == 3 and discordant(a, a) == 0
    assert sd_points(96, 10_000) == 100 * math.sqrt(96) / 10_000
    assert math.isclose(sd_points(100, 10_000), 0.1)


def test_each_seeds_rows_record_the_images_exactly_one_twin_gets_right(monkeypatch):
    """run_seeds (what compare.py trains) counts them from the twins' own test predictions. The
    twins of so short a run answer alike, so the torch twin's answers are changed here: some made
    wrong, some right, and some wrong answers made other wrong answers (not counted)."""
    from conftest import real
    from training import loop
    from training.config import Config
    from training.lockstep import run_seeds
    data = real("mnist", "float32").head(1024, 500)
    y = data.y_test
    predictions = loop.predictions

    def changed(twin, model, x):
        p = predictions(twin, model, x).copy()
        if twin.name == "torch":
            p[:10] = (y[:10] + 1) % 10                                # wrong
            p[10:20] = y[10:20]                                       # right
            wrong = np.flatnonzero(p[20:] != y[20:])[:10] + 20
            p[wrong] = np.where((p[wrong] + 1) % 10 != y[wrong], (p[wrong] + 1) % 10,
                                (p[wrong] + 2) % 10)                  # wrong another way
        return p

    monkeypatch.setattr(loop, "predictions", changed)
    cfg = Config(hidden=(4,), epochs=1, batch_size=64, lr=0.05)
    rows, _, histories = run_seeds(cfg, data, {"numpy": "cpu", "torch": "cpu"}, 1, [3],
                                   progress=False)
    ours, theirs = (h["test_predictions"] for h in histories)
    right = ours == y
    expected = int(right[:10].sum() + (~right[10:20]).sum())
    assert 0 < expected and (ours != theirs).sum() >= expected + 10
    assert [(r["seed"], r["test_images"], r["discordant"]) for r in rows] == \
        [(3, 500, expected)] * 2


def test_a_large_count_is_counted_exactly_term_from_term():
    """The tails are summed term from term (a comb() per term took 14 s at d = 10,000); the
    counts stay the exact ones."""
    d = 2001
    ways = sum(math.comb(d, x) for x in range(d + 1) if abs(2 * x - d) >= 45)
    assert chance_beyond(d, 45) == ways / 2 ** d
    assert chance_within(d, 44) == (2 ** d - ways) / 2 ** d
    assert chance_beyond(d, d + 1) == 0 and chance_within(d, d) == 1
