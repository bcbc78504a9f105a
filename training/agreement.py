"""Whether a candidate's twins agree: what tune.py measures, beside the validation accuracy, for
the searches whose choice must keep its twins within the layers issue's gap
(training/defaults.py's AGREEMENT_SEARCHES), on the validation split, so that the test set plays
no part in the choice.

On each seed, both twins are trained from the seed's weights on the same batches, and the NumPy
twin again from starts one rounding step away (training/sensitivity.py). A training that
amplifies rounding parts the twins, and parts the NumPy twin from itself, by as much as a new
seed would; one that does not ends with all of them equal. One seed's agreement can be luck, so
every seed of the models table is measured.
"""
from dataclasses import replace

from training import loop, models, sensitivity
from twins import load_twin


def agreement(cfg, dataset, threads, seeds, starts, known=None):
    """cfg (its val_size set) trained by both twins on each of `seeds`, and by the NumPy twin from
    `starts` nudged starts a seed; `known`: {(twin name, seed): validation accuracy} of trainings
    of cfg already made (tune.py's own run of the candidate), which are not made again ->
    dict(lowest_val_acc: the lowest validation accuracy over the seeds and twins (a fraction),
         twin_gap: the largest |NumPy - PyTorch| over the seeds (points),
         self_spread: the largest spread of the NumPy twin over its exact and nudged starts
                      (points)).
    Raises what training raises (Diverged, ModelError), and KeyboardInterrupt where one of its
    trainings was interrupted."""
    known = known or {}
    twins = [load_twin(name, "cpu", threads) for name in ("numpy", "torch")]
    lowest, gaps, spreads = 1.0, [], []
    for seed in seeds:
        run = replace(cfg, seed=seed)
        params = models.init_params(run)
        numpy_acc, torch_acc = (
            known[twin.name, seed] if (twin.name, seed) in known else
            sensitivity.held_out_accuracy(sensitivity.finished(loop.train(
                twin, models.build(twin, run, params), dataset, run, progress=False,
                log=lambda *a: None)))
            for twin in twins)
        lowest = min(lowest, numpy_acc, torch_acc)
        gaps.append(100 * abs(numpy_acc - torch_acc))
        spreads.append(sensitivity.spread(run, dataset, numpy_acc, threads, starts))
    # accuracies are whole images out of val_size: rounding keeps 0.1 from reading 0.1000000001
    return dict(lowest_val_acc=lowest, twin_gap=round(max(gaps), 6),
                self_spread=round(max(spreads), 6))
