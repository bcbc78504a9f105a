"""training/sensitivity.py: the starts one float32 step apart, and the spread of the trainings
from them, which the models table shows beside a chaotic row's twin gap (compare.py --models
neuron runs it for real: tests/test_cnn.py)."""
from dataclasses import replace

import numpy as np
import pytest

from training import models, sensitivity
from training.config import Config


def test_a_nudge_moves_half_of_each_float_arrays_nonzero_entries_one_step_up_only():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((40, 50)).astype(np.float32),
              "b1": np.zeros(40, np.float32), "w64": rng.standard_normal(500),
              "bn1_num_batches_tracked": np.array(3, np.int64)}
    params["W1"][:, :10] = 0
    out = sensitivity.nudged(params, 1)
    for name in ("W1", "w64"):
        a, b = params[name], out[name]
        assert b.dtype == a.dtype and b.shape == a.shape
        moved = b != a
        assert 0.4 < moved[a != 0].mean() < 0.6                    # about half
        assert np.array_equal(b[moved], np.nextafter(a, np.inf)[moved])   # one step, up
    assert not out["W1"][:, :10].any() and not out["b1"].any()       # zeros stay
    assert out["bn1_num_batches_tracked"] == 3
    again, other = sensitivity.nudged(params, 1), sensitivity.nudged(params, 2)
    assert all(np.array_equal(again[k], out[k]) for k in params)          # the draw decides
    assert not np.array_equal(other["W1"], out["W1"])


def test_the_spread_is_over_the_exact_run_and_the_runs_from_each_nudged_start(monkeypatch):
    cfg = replace(Config.for_run("mnist", "mlp"), hidden=(1,), seed=3)
    params = models.init_params(cfg)
    trained = []                           # the start of each training, and its "accuracy"
    def train(twin, model, data, cfg, **kw):
        start = twin.export(model)
        trained.append(start)
        accuracy = 0.3 + 0.1 * (start["W1"] != params["W1"]).mean()   # ~0.35 once nudged
        return dict(held_out="test", epochs=[dict(test_acc=accuracy)])
    monkeypatch.setattr(sensitivity.loop, "train", train)
    starts = sensitivity.NUDGED_STARTS + 1
    got = sensitivity.spread(cfg, None, 0.32, 1, starts=starts)
    for draw, start in enumerate(trained, start=1):
        assert all(np.array_equal(start[k], sensitivity.nudged(params, draw)[k]) for k in params)
    accuracies = [0.32] + [0.3 + 0.1 * (s["W1"] != params["W1"]).mean() for s in trained]
    assert len(trained) == starts and got == 100 * (max(accuracies) - min(accuracies)) > 0
    assert sensitivity.spread(cfg, None, 0.9, 1, starts=1) == 100 * (0.9 - accuracies[1])
    rows = [dict(implementation="numpy", seed=3, test_acc=0.32),
            dict(implementation="torch", seed=3, test_acc=0.5)]
    trained.clear()
    kept = accuracies[:sensitivity.NUDGED_STARTS + 1]          # the default: one start fewer
    assert sensitivity.spreads(cfg, None, rows, 1) == {3: 100 * (max(kept) - min(kept))}
    assert len(trained) == sensitivity.NUDGED_STARTS


def test_agreement_trains_both_twins_from_each_seeds_weights_and_keeps_the_worst(monkeypatch):
    from training import agreement
    cfg = replace(Config.for_run("mnist", "mlp"), hidden=(1,), val_size=5000)
    # each (twin, seed)'s validation accuracy; the test set's must not be read
    # the largest gap and the lowest accuracy on the middle seed, neither first nor last
    accuracy = {("numpy", 0): 0.30, ("torch", 0): 0.3004, ("numpy", 1): 0.2830,
                ("torch", 1): 0.28, ("numpy", 4): 0.35, ("torch", 4): 0.3490}
    trained, spread_calls = [], []
    def train(twin, model, data, run, **kw):
        trained.append((twin.name, run.seed, twin.export(model)))
        return dict(held_out="val",
                    epochs=[dict(val_acc=accuracy[twin.name, run.seed], test_acc=float("nan"))])
    def spread(run, data, exact, threads, starts):
        spread_calls.append((run.seed, exact, starts))
        return {0: 0.02, 1: 0.08, 4: 0.06}[run.seed]
    monkeypatch.setattr(agreement.loop, "train", train)
    monkeypatch.setattr(agreement.sensitivity, "spread", spread)
    got = agreement.agreement(cfg, None, 1, (0, 1, 4), 2)
    assert [(name, seed) for name, seed, _ in trained] == [
        (t, s) for s in (0, 1, 4) for t in ("numpy", "torch")]
    for name, seed, start in trained:                 # both twins from that seed's weights
        params = models.init_params(replace(cfg, seed=seed))
        assert all(np.allclose(start[k], params[k]) for k in params)
    assert spread_calls == [(0, 0.30, 2), (1, 0.2830, 2), (4, 0.35, 2)]   # the NumPy twin's
    assert got["lowest_val_acc"] == 0.28
    assert got["twin_gap"] == 0.3                     # seed 1's 0.30 points, not 0.04 or 0.10
    assert got["self_spread"] == 0.08
    # a training cut short by Ctrl-C is no measurement: the search stops, it records nothing
    monkeypatch.setattr(agreement.loop, "train", lambda twin, model, data, run, **kw: dict(
        held_out="val", epochs=[dict(val_acc=0.1)], interrupted=twin.name == "torch"))
    with pytest.raises(KeyboardInterrupt):
        agreement.agreement(cfg, None, 1, (0,), 2)
    # a training already made (tune.py's own run of the candidate) is read, not made again
    monkeypatch.setattr(agreement.loop, "train", train)
    trained.clear(), spread_calls.clear()
    got = agreement.agreement(cfg, None, 1, (0, 1, 4), 2, known={("numpy", 1): 0.2790})
    assert [(name, seed) for name, seed, _ in trained] == [
        ("numpy", 0), ("torch", 0), ("torch", 1), ("numpy", 4), ("torch", 4)]
    assert spread_calls[1] == (1, 0.2790, 2)          # the spread is about the known accuracy
    assert got["lowest_val_acc"] == 0.2790 and got["twin_gap"] == 0.1


def test_the_spread_reads_the_validation_accuracy_of_a_validation_run(monkeypatch):
    cfg = replace(Config.for_run("mnist", "mlp"), hidden=(1,), val_size=5000)
    monkeypatch.setattr(sensitivity.loop, "train", lambda *a, **kw: dict(
        held_out="val", epochs=[dict(val_acc=0.25, test_acc=0.9)]))
    assert sensitivity.spread(cfg, None, 0.2, 1, starts=1) == pytest.approx(5.0)
    monkeypatch.setattr(sensitivity.loop, "train", lambda *a, **kw: dict(
        held_out="val", epochs=[dict(val_acc=0.25)], interrupted=True))
    with pytest.raises(KeyboardInterrupt):
        sensitivity.spread(cfg, None, 0.2, 1, starts=1)
