"""benchmarks/twin_disagreement.py: the images exactly one of two networks gets right, and the
chance that coin flips over them keep the gap within a bound."""
from fractions import Fraction
from math import comb

import numpy as np
import pytest

import mlp_np
from benchmarks import twin_disagreement as td
from report.verdicts import probability
from training import weights_file
from training.discordance import chance_all, chance_beyond, chance_within


def right(params, data):
    """Which test images an MLP of params (float64 here) gets right: written out, not the
    project's evaluation."""
    h = np.maximum(data.x_test @ params["W1"].T.astype(np.float64) + params["b1"], 0)
    return (h @ params["W2"].T.astype(np.float64) + params["b2"]).argmax(1) == data.y_test


def shown(p):
    """A probability as the command must print it: two decimals, or, below 0.01, two digits and
    a power of ten (a fault's p is not 0.00)."""
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1e}"


def test_two_networks_gap_and_disagreement_are_counted_image_by_image(mnist, tmp_path, capsys):
    a, b = mlp_np.init_params((784, 8, 10), 0), mlp_np.init_params((784, 8, 10), 1)
    weights_file.save_weights(tmp_path / "a.npz", a, {"hidden": [8]})
    weights_file.save_weights(tmp_path / "b.npz", b, {"hidden": [8], "twin": "torch"})
    ra, rb = right(a, mnist), right(b, mnist)
    d, gap = int((ra != rb).sum()), abs(int(ra.sum()) - int(rb.sum()))
    assert d > 0 and gap > 1                          # two networks that differ
    # the files in the other order: each is still evaluated by the twin that wrote it
    assert td.main([str(tmp_path / "b.npz"), str(tmp_path / "a.npz"), "--within",
                    str(100 * (gap + 1) / 10_000), "--seeds", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == ""                                  # one recipe, two twins: no warning
    assert f"b.npz (torch): {100 * rb.mean():.2f}% of the 10,000 test images of mnist" in out
    assert f"a.npz (numpy): {100 * ra.mean():.2f}%" in out
    assert f"gap {gap / 100:.2f} points ({gap} images); right in exactly one: {d}" in out
    assert f"standard deviation {100 * d ** 0.5 / 10_000:.3f} points" in out
    assert f"this gap is {gap / d ** 0.5:.1f} of them" in out
    # |gap| or more, either way, in exact fractions: 1 - chance_within would lose a small p
    beyond = float(Fraction(sum(comb(d, x) for x in range(d + 1) if abs(2 * x - d) >= gap),
                            2 ** d))
    assert f"one as large or larger has probability {shown(beyond)}" in out
    p = chance_within(d, gap + 1)
    assert f"({gap + 1} images): probability {shown(p)} on a seed, {shown(p ** 2)} on all 2" \
        in out
    assert td.main([str(tmp_path / "a.npz")] * 2 + ["--within", "0.01"]) == 0   # itself
    out = capsys.readouterr().out
    assert "gap 0.00 points (0 images); right in exactly one: 0" in out
    assert "within 0.01 points (1 image): probability 1.00" in out       # one, not "1 images"


def test_a_twin_fault_s_small_chance_is_printed_with_its_digits(mnist, tmp_path, capsys):
    """A deliberate fault: the second network is the first unable to answer the three classes
    the first gets most often right, so the images between them go mostly one way. Its p, far
    below 0.01, must read as such (two digits and its power of ten), not as 0.00."""
    a = mlp_np.init_params((784, 8, 10), 0)
    ra = right(a, mnist)
    b = {**a, "b2": a["b2"].copy()}
    b["b2"][np.bincount(mnist.y_test[ra], minlength=10).argsort()[-3:]] = -1e6  # never answered
    rb = right(b, mnist)
    d, gap = int((ra != rb).sum()), abs(int(ra.sum()) - int(rb.sum()))
    beyond = chance_beyond(d, gap)
    assert 0 < beyond < 1e-10 and gap > 50           # a fault: far outside the coin flips
    for name, params in (("a", a), ("b", b)):
        weights_file.save_weights(tmp_path / f"{name}.npz", params, {"hidden": [8]})
    assert td.main([str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), "--within", "0.5"]) == 0
    out = capsys.readouterr().out
    assert f"one as large or larger has probability {beyond:.1e}" in out
    assert "probability 0.00" not in out
    p = chance_within(d, 50)
    assert f"(50 images): probability {shown(p)} on a seed, {shown(p ** 3)} on all 3" in out


def test_a_chance_below_the_smallest_float_is_said_so_not_zero():
    assert 0 < chance_beyond(2000, 2000) < 1e-300     # 2 / 2^2000 underflows: floored, not 0
    assert probability(chance_beyond(2000, 2000)) == "< 1e-300"
    assert chance_within(9, 0) == 0 and probability(chance_within(9, 0)) == "0"  # odd D: no tie
    assert probability(chance_all(chance_beyond(2000, 2000), 3)) == "< 1e-300"
    assert chance_all(0.5, 3) == 0.125 and chance_all(0.0, 3) == 0
    assert probability(chance_beyond(13, 13)) == "2.4e-04"
    assert probability(0.3) == "0.30" and probability(0.01) == "0.01"
    assert probability(0.00999) == "0.01" and probability(0.00994) == "9.9e-03"   # no 1.0e-02


def test_files_of_two_recipes_are_compared_with_a_warning(tmp_path, capsys):
    params = mlp_np.init_params((784, 8, 10), 0)
    weights_file.save_weights(tmp_path / "a.npz", params, {"hidden": [8], "seed": 0})
    weights_file.save_weights(tmp_path / "b.npz", params, {"hidden": [8], "seed": 7,
                                                           "interrupted": True})
    assert td.main([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the files differ in interrupted: not two runs" in err
    # two seeds are two runs of one recipe; a field one file lacks is its default; one file
    # given twice is said so (the hostile tester's three false or missing warnings)
    weights_file.save_weights(tmp_path / "c.npz", params, {"hidden": [8], "seed": 7,
                                                           "dtype": "float32"})
    assert td.main([str(tmp_path / "a.npz"), str(tmp_path / "c.npz")]) == 0
    assert capsys.readouterr().err == ""
    assert td.main([str(tmp_path / "a.npz"), str(tmp_path / ".." / tmp_path.name / "a.npz")]) == 0
    assert "warning: both name one file" in capsys.readouterr().err


def test_files_that_cannot_be_compared_are_one_line_errors(tmp_path, capsys):
    weights_file.save_weights(tmp_path / "m.npz", mlp_np.init_params((784, 8, 10), 0),
                              {"hidden": [8]})
    weights_file.save_weights(tmp_path / "f.npz", mlp_np.init_params((784, 8, 10), 0),
                              {"hidden": [8], "dataset": "fashion-mnist"})
    assert td.main([str(tmp_path / "m.npz"), str(tmp_path / "gone.npz")]) == 1
    assert capsys.readouterr().err.strip().endswith("gone.npz does not exist")
    assert td.main([str(tmp_path / "m.npz"), str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip().endswith(f"{tmp_path} is a folder")
    assert td.main([str(tmp_path / "m.npz"), str(tmp_path / "f.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different data sets (mnist, fashion-mnist)" in err
    for flag, value in (("--within", "-1"), ("--within", "nan"), ("--within", "inf"),
                        ("--within", "1e308"), ("--seeds", "0"), ("--seeds", "1001"),
                        ("--seeds", "1" + "0" * 400)):      # p ** 10^400 once overflowed
        with pytest.raises(SystemExit) as stop:       # argparse's one line, before any work
            td.main([str(tmp_path / "m.npz")] * 2 + [flag, value])
        assert stop.value.code == 2
