"""The models table's rows (defaults.MODEL_RUNS): each row's config, the table kept in
defaults.MODEL_RUNS' order as rows are replaced one model at a time, and what is measured beside
a row: the bound of a network that passes one number per image, and a chaotic row's own spread
over starts one rounding step (of its dtype) apart."""
from dataclasses import replace

from training import config, models, sensitivity
from training.defaults import MODEL_RUNS, SPREAD_ROWS


def in_order(table):
    """The models table's rows in defaults.MODEL_RUNS' order."""
    order = {name: i for i, (name, _) in enumerate(MODEL_RUNS.values())}
    return table.sort_values("name", key=lambda names: names.map(order), kind="stable")


def one_number_bound(dataset):
    """What any network that passes one number per image (784-1-10) can reach at most,
    estimated from below: the better on the training images of Fisher's direction and a direction
    learned from it, read by a histogram decoder; test accuracy (training/capacity)."""
    from training.capacity import one_number_accuracy
    return one_number_accuracy(dataset.x_train, dataset.y_train, dataset.x_test,
                               dataset.y_test)["test_accuracy"]


def measures(key, cfg, dataset, rows, threads):
    """{seed: the columns measured beside the results rows of MODEL_RUNS[key]}: one_number_bound
    for a 784-1-10 network, self_spread (points) for a row of defaults.SPREAD_ROWS
    (training/sensitivity.py); NaN where not measured."""
    bound = one_number_bound(dataset) if cfg.hidden == (1,) else float("nan")
    spread = sensitivity.spreads(cfg, dataset, rows, threads) if key in SPREAD_ROWS else {}
    return {r["seed"]: dict(one_number_bound=bound, self_spread=spread.get(r["seed"],
                                                                           float("nan")))
            for r in rows}


def row_keeps(run, given):
    """What a row fixes that a flag given asked otherwise, in words ("" for nothing): e.g.
    "; keeps its own batch size 64 (not --batch-size 512)"; model_config keeps the row's."""
    said = ", ".join(f"{k.replace('_', ' ')} {config.shown(run[k])} (not {config.flag(k)} "
                     f"{config.shown(v)})" for k, v in given.items()
                     if k in run and k != "model" and run[k] != v)
    return f"; keeps its own {said}" if said else ""


def model_config(name, run, given, dataset, quick=False):
    """The config of the models table's row `name` on `dataset`: what `run` changes from the
    defaults of its model, and the flags given ({field: value}); one epoch if quick.
    ModelError if it is not a valid config or too large for memory."""
    given = {k: v for k, v in given.items() if k not in run}
    cfg = config.Config.for_run(dataset, run["model"],
                                **given, **{k: v for k, v in run.items() if k != "model"})
    if quick:
        cfg = replace(cfg, epochs=1)
    problem = config.validate(cfg)
    if problem:
        raise models.ModelError(f"{name}: {problem}")
    models.check_memory(cfg)
    return cfg
