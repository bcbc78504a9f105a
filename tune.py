"""Choose the default hyperparameters on a validation set, never on the test set.

Trains a twin (NumPy unless --twin torch: the twins are held equal by the tests) on the
training images but the last few thousand for each candidate of the data set and model
(SEARCHES below) and scores it on those held-out ones. Writes tuning.csv (MNIST's MLP:
learning_curves/tuning.csv; another data set's: learning_curves/<name>/tuning.csv; a CNN's:
tuning-cnn.csv beside it): one row per candidate with the final validation accuracy, the epoch
and the training seconds at which validation accuracy first reached the search's `reach`
accuracy, and the training seconds in all; and the README's tuning section of that search.

    python tune.py [--dataset fashion-mnist] [--model cnn --twin torch] [--only N ...]
"""
import cli  # first of all: it sets how OpenBLAS's threads idle, before NumPy loads

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

import data
import files
import models
import train
from config import Config
from models import init_params

ROOT = Path(__file__).resolve().parent
# Every candidate spells out what it changes from plain training: the defaults in config.py are
# this search's result, so they cannot be its starting point.
PLAIN = dict(label_smoothing=0.0, ema=0.0)
MNIST_CANDIDATES = [
    dict(hidden=(1024,), optimizer="adam", lr=1e-3, batch_size=128, epochs=20),
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=20),
    dict(hidden=(1024,), optimizer="adamw", lr=1e-3, weight_decay=0.05, batch_size=128, epochs=20),
    dict(hidden=(2048,), optimizer="adam", lr=1e-3, batch_size=256, epochs=15),
    dict(hidden=(1024,), optimizer="momentum", lr=0.1, weight_decay=5e-4, batch_size=128, epochs=20),
    dict(hidden=(2048,), optimizer="momentum", lr=0.1, weight_decay=5e-4, batch_size=128, epochs=15),
    dict(hidden=(800, 800), optimizer="adam", lr=1e-3, batch_size=128, epochs=15),
    dict(hidden=(1024,), optimizer="adam", lr=1e-3, batch_size=128, epochs=10),
    # round 2: around the best of round 1 (adam, lr 2e-3, batch 256), cheaper or wider
    dict(hidden=(1024,), optimizer="adam", lr=3e-3, batch_size=512, epochs=20),
    dict(hidden=(1536,), optimizer="adam", lr=2e-3, batch_size=256, epochs=15),
    dict(hidden=(1024,), optimizer="adamw", lr=2e-3, weight_decay=0.1, batch_size=256, epochs=20),
    dict(hidden=(1024,), optimizer="momentum", lr=0.2, weight_decay=5e-4, batch_size=256, epochs=20),
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=12),
    dict(hidden=(2048,), optimizer="adamw", lr=2e-3, weight_decay=0.1, batch_size=256, epochs=12),
    # round 3: candidate 1 with label smoothing and a moving average of the weights
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=20,
         label_smoothing=0.1),
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=20,
         label_smoothing=0.1, ema=0.999),
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=20,
         label_smoothing=0.2, ema=0.999),
    dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=15,
         label_smoothing=0.1, ema=0.999),
]
MNIST_DEFAULTS = dict(hidden=(1024,), optimizer="adam", lr=2e-3, batch_size=256, epochs=20,
                      label_smoothing=0.1, ema=0.999)
FASHION_CANDIDATES = [
    # round 1: MNIST's defaults, then wider, deeper, longer, and decoupled weight decay
    MNIST_DEFAULTS,
    dict(MNIST_DEFAULTS, optimizer="adamw", weight_decay=0.1, epochs=30),
    dict(MNIST_DEFAULTS, hidden=(2048,), epochs=30),
    dict(MNIST_DEFAULTS, hidden=(1024, 1024), optimizer="adamw", weight_decay=0.1, epochs=30),
    dict(MNIST_DEFAULTS, hidden=(1024, 1024), optimizer="adamw", weight_decay=0.1, epochs=20),
    dict(MNIST_DEFAULTS, hidden=(512, 512), optimizer="adamw", weight_decay=0.1, epochs=30),
    dict(MNIST_DEFAULTS, hidden=(1024, 1024), optimizer="adamw", weight_decay=0.2, lr=1e-3,
         epochs=30),
    dict(MNIST_DEFAULTS, hidden=(1024, 1024), optimizer="adamw", weight_decay=0.1, epochs=30,
         label_smoothing=0.0),
]
LINES_CANDIDATES = [
    dict(hidden=(64,), batch_size=64, epochs=10, label_smoothing=0.1),
    dict(hidden=(64,), batch_size=64, epochs=5, label_smoothing=0.1),
    dict(hidden=(16,), batch_size=64, epochs=10, label_smoothing=0.1),
    dict(hidden=(256,), batch_size=64, epochs=10, label_smoothing=0.1),
    dict(hidden=(64,), batch_size=256, epochs=10, label_smoothing=0.1),
    dict(hidden=(64,), batch_size=64, epochs=10),
]
LENET = dict(channels=(6, 16), kernel=5, padding=(2, 0), pool=2, hidden=(120, 84),
             optimizer="adam", lr=2e-3, batch_size=256, epochs=20, label_smoothing=0.1,
             ema=0.999)
CNN_CANDIDATES = [
    # LeNet-5's shape with the MLP's training defaults, then cheaper, wider, decayed, faster
    LENET,
    dict(LENET, epochs=15),
    dict(LENET, channels=(8, 16), hidden=(128,)),
    dict(LENET, optimizer="adamw", weight_decay=0.05),
    dict(LENET, lr=3e-3, batch_size=512),
    dict(LENET, lr=1e-3, batch_size=128),
]
# (data set, model) -> (candidates, validation images, the accuracy whose first reaching is
# timed)
SEARCHES = {
    ("mnist", "mlp"): (MNIST_CANDIDATES, 5000, 0.98),
    ("fashion-mnist", "mlp"): (FASHION_CANDIDATES, 5000, 0.90),
    ("kaggle", "mlp"): (MNIST_CANDIDATES, 3780, 0.98),      # a tenth of its training part
    ("lines", "mlp"): (LINES_CANDIDATES, 5000, 1.0),
    ("mnist", "cnn"): (CNN_CANDIDATES, 5000, 0.99),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=tuple(data.DATASETS))
    parser.add_argument("--model", default="mlp", choices=cli.config.MODELS)
    parser.add_argument("--twin", default="numpy", choices=cli.TWINS,
                        help="the twin that trains the candidates")
    parser.add_argument("--only", type=int, nargs="+", help="indices of the candidates to run")
    parser.add_argument("--out", help="the table (default learning_curves/[<data set>/]"
                                      "tuning.csv)")
    parser.add_argument("--data-dir")
    parser.add_argument("--readme", default=str(ROOT / "docs" / "defaults.md"),
                        help="the page holding the tuning sections")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--from-table", action="store_true",
                        help="train nothing: rewrite the README section from the table")
    args = parser.parse_args(argv)
    if (args.dataset, args.model) not in SEARCHES:
        parser.error(f"no search for --model {args.model} on {args.dataset}; there are "
                     + ", ".join(f"{m} on {d}" for d, m in SEARCHES))
    candidates, val_size, reach = SEARCHES[args.dataset, args.model]
    if any(not 0 <= i < len(candidates) for i in args.only or ()):
        parser.error(f"--only takes candidates 0..{len(candidates) - 1}")
    name = "tuning.csv" if args.model == "mlp" else f"tuning-{args.model}.csv"
    out = Path(args.out or files.results_folder(args.dataset) / name)
    start, end = markers(args.dataset, args.model)
    try:
        if args.from_table:
            table = read_table(out)
            files.replace_between(args.readme, start, end,
                                  readme_section(table, args.dataset, val_size, reach,
                                                 args.model))
            return 0
        out.parent.mkdir(parents=True, exist_ok=True)
        threads = len(cli.os.sched_getaffinity(0))
        base = Config(dataset=args.dataset, model=args.model, val_size=val_size, **PLAIN)
        dataset = data.load(args.dataset, args.data_dir, base.dtype, val_size)
        rows = []
        for i in args.only or range(len(candidates)):
            cfg = replace(base, **candidates[i])
            twin, build, _ = cli.load_twin(args.twin, "cpu", threads, cfg)
            model = build(init_params(cfg))
            history = train.train(twin, model, dataset, cfg, f"candidate {i}", False)
            rows.append(tuning_row(i, cfg, history, reach))
            print(pd.DataFrame(rows).to_string(index=False), flush=True)
        table = pd.DataFrame(rows)
        if out.exists():                       # keep the rows of candidates not run this time
            old = read_table(out)
            table = pd.concat([old[~old.candidate.isin(table.candidate)], table])
        table = table.sort_values("candidate")
        files.write_text(out, table.to_csv(index=False))
        if not args.no_readme:
            files.replace_between(args.readme, start, end,
                                  readme_section(table, args.dataset, val_size, reach,
                                                 args.model))
        return 0
    except (cli.RunError, data.DataError, files.FileError, models.ModelError) as e:
        return cli.fail(str(e))


def read_table(path):
    try:
        return pd.read_csv(path)
    except OSError as e:
        raise files.FileError(f"{path} cannot be read ({e.strerror})")


def markers(dataset, model="mlp"):
    name = "tuning" + ("" if dataset == "mnist" else f"-{dataset}") + \
        ("" if model == "mlp" else f"-{model}")
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def tuning_row(i, cfg, history, reach):
    last = history["epochs"][-1]
    accs = [e["val_acc"] for e in history["epochs"]]
    reached = train.first_epoch_reaching(history, reach)
    convolutions = dict(channels="-".join(map(str, cfg.channels)), kernel=cfg.kernel) \
        if cfg.model == "cnn" else {}
    return dict(candidate=i, **convolutions, hidden="-".join(map(str, cfg.hidden)) or "0",
                optimizer=cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay,
                batch_size=cfg.batch_size, epochs=cfg.epochs,
                final_val_acc=accs[-1], best_val_acc=max(accs),
                first_epoch_reaching=reached.get("epoch"),
                train_seconds=round(history["train_seconds"], 1),
                label_smoothing=cfg.label_smoothing, ema=cfg.ema,
                seconds_to_reach=round(reached.get("train_seconds", np.nan), 1),
                final_val_loss=round(last["val_loss"], 5))


def standard_error(accuracy, val_size):
    """One standard error of an accuracy measured on val_size images."""
    return np.sqrt(accuracy * (1 - accuracy) / val_size)


def close_to_best(table, val_size):
    """The candidates whose final validation accuracy is within one standard error of the best:
    closer than the validation set can tell apart."""
    best = table.final_val_acc.max()
    return table[table.final_val_acc >= best - standard_error(best, val_size)]


def chosen(table, val_size):
    """The selection rule: of the candidates close to the best (see close_to_best), the one
    that first reached the data set's `reach` accuracy in the fewest training seconds; ties,
    and candidates that never reached it, go by final accuracy.
    Where the best is 100%, its standard error is 0 and accuracy cannot rank the candidates
    that reach it (the lines set: a 1-in-5,000 error rate looks like none), so of those the
    one with the lowest final validation loss, the widest margin, is chosen instead."""
    if table.final_val_acc.max() == 1.0:
        return table[table.final_val_acc == 1.0].sort_values("final_val_loss").iloc[0]
    return close_to_best(table, val_size).sort_values(
        ["seconds_to_reach", "final_val_acc"], ascending=[True, False],
        na_position="last").iloc[0]


def readme_section(table, dataset="mnist", val_size=5000, reach=0.98, model="mlp"):
    best = chosen(table, val_size)
    acc = table.final_val_acc
    top = acc.max()
    shown = table.assign(final_val_acc=(100 * acc).map("{:.2f}".format),
                         best_val_acc=(100 * table.best_val_acc).map("{:.2f}".format))
    start, end = markers(dataset, model)
    rule = "the lowest validation loss" if top == 1.0 else f"the first to reach {100 * reach:g}%"
    return "\n".join([
        start, shown.to_markdown(index=False), "",
        f"Final validation accuracy ranges over {100 * acc.min():.2f}–{100 * top:.2f}% "
        f"across the {len(table)} candidates; one standard error of an accuracy measured on "
        f"{val_size:,} images is {100 * standard_error(top, val_size):.2f} points, so "
        f"{len(close_to_best(table, val_size))} candidates are within it of the best. "
        f"Chosen (of those, {rule}): candidate {best.candidate}, "
        + (f"channels {best.channels} ({best.kernel}x{best.kernel}), " if "channels" in best
           else "") + f"hidden "
        f"{best.hidden}, {best.optimizer} lr {best.lr:g}, batch {best.batch_size}, "
        f"{best.epochs} epochs, weight decay {best.weight_decay:g}, label smoothing "
        f"{best.label_smoothing:g}, weight average decay {best.ema:g}.",
        end])


if __name__ == "__main__":
    sys.exit(main())
