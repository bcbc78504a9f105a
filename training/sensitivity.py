"""How far one twin's own training moves when its start moves by one rounding step: the floor
under the twins' gap.

The twins compute the same maths with sums in other orders (BLAS's blocks against torch's
kernels), so their weights differ in the last bit after the first step. A training that
amplifies such differences (the single neuron under Adam's large steps in batches of 64: one
number per image, read through thresholds that many images sit near) parts its twins by more
than the issue's 0.1 point whatever the twins do; training/agreement.py uses the same nudge to
choose recipes that do not. This trains the NumPy twin again from the seed's weights with a
random half of each weight array's entries moved to the next float of its dtype up
(np.nextafter), on the same batches: the spread of its held-out accuracies over those starts is
what the twins' gap is measured against. docs/defaults.md measures the same in float64.
"""
from dataclasses import replace

import numpy as np

from training import loop, models
from twins import load_twin

NUDGED_STARTS = 4            # trainings from nudged starts, per seed, beside the exact one


def nudged(params, draw):
    """params with a random half of every floating-point array's nonzero entries moved one step
    of its dtype up (np.nextafter towards +inf), chosen by the generator seeded `draw`; the
    others unchanged, as are zeros (a bias, an output layer started at 0: the float after 0 is a
    denormal, no rounding's size) and integer arrays (batch norm's count).
    {name: array} -> {name: array}."""
    rng = np.random.default_rng([draw, 0x5E5])
    out = {}
    for name, a in params.items():
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating):
            up = np.nextafter(a, np.asarray(np.inf, a.dtype))
            a = np.where((rng.random(a.shape) < 0.5) & (a != 0), up, a).astype(a.dtype)
        out[name] = a
    return out


def spread(cfg, dataset, exact_accuracy, threads, starts=NUDGED_STARTS):
    """The NumPy twin of cfg (its seed's weights, models.init_params) trained from `starts`
    nudged starts; -> the spread in points of the held-out accuracies (the test set's, or the
    validation split's where cfg.val_size is set) of those runs and of the exact start's run
    (exact_accuracy, a fraction, as the results rows hold it)."""
    twin = load_twin("numpy", "cpu", threads)
    params = models.init_params(cfg)
    accuracies = [exact_accuracy]
    for draw in range(1, starts + 1):
        model = models.build(twin, cfg, nudged(params, draw))
        history = loop.train(twin, model, dataset, cfg, progress=False, log=lambda *a: None)
        accuracies.append(held_out_accuracy(finished(history)))
    return 100 * (max(accuracies) - min(accuracies))


def finished(history):
    """history, where training ran to its last epoch; KeyboardInterrupt where Ctrl-C (SIGTERM,
    SIGHUP) cut it short, for a caller that scores the run (a search): a cut-short run's
    accuracy is not the candidate's."""
    if history.get("interrupted"):
        raise KeyboardInterrupt
    return history


def held_out_accuracy(history):
    """The last epoch's accuracy on what the run was scored on, validation or test, as the
    history names it (loop.first_epoch_reaching reads it so too); a fraction."""
    return history["epochs"][-1][f"{history['held_out']}_acc"]


def spreads(cfg, dataset, rows, threads):
    """{seed: spread} for the seeds of the results rows (their NumPy rows' accuracies)."""
    return {r["seed"]: spread(replace(cfg, seed=r["seed"]), dataset, r["test_acc"], threads)
            for r in rows if r["implementation"] == "numpy"}
