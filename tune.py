"""Choose the default hyperparameters on a validation set, never on the test set.

Trains the NumPy twin on 55,000 training images for each candidate below and scores it on the
5,000 held-out ones (the last 5,000 of the training file). Writes learning_curves/tuning.csv:
one row per candidate with the final validation accuracy, the epoch and the training seconds
at which validation accuracy first reached 98%, and the training seconds in all.

    python tune.py [--only N ...] [--out learning_curves/tuning.csv]
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
import train
from config import Config
from mlp_np import init_params

START, END = "<!-- tuning:start -->", "<!-- tuning:end -->"
VAL_SIZE = 5000
# Every candidate spells out what it changes from plain training: the defaults in config.py are
# this search's result, so they cannot be its starting point.
BASE = Config(val_size=VAL_SIZE, label_smoothing=0.0, ema=0.0)
CANDIDATES = [
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=int, nargs="+", help="indices of CANDIDATES to run")
    parser.add_argument("--out", default="learning_curves/tuning.csv")
    parser.add_argument("--data-dir")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    twin, build, _ = cli.load_twin("numpy", "cpu", threads=len(cli.os.sched_getaffinity(0)))
    dataset = data.load_mnist(args.data_dir, BASE.dtype, VAL_SIZE)
    rows = []
    for i in args.only or range(len(CANDIDATES)):
        cfg = replace(BASE, **CANDIDATES[i])
        model = build(init_params(cfg.sizes(), cfg.seed, cfg.dtype))
        history = train.train(twin, model, dataset, cfg, f"candidate {i}", False)
        accs = [e["val_acc"] for e in history["epochs"]]
        reached = train.first_epoch_reaching(history, 0.98)
        rows.append(dict(candidate=i, hidden="-".join(map(str, cfg.hidden)),
                         optimizer=cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         label_smoothing=cfg.label_smoothing, ema=cfg.ema,
                         batch_size=cfg.batch_size, epochs=cfg.epochs,
                         final_val_acc=accs[-1], best_val_acc=max(accs),
                         first_epoch_98=reached.get("epoch"),
                         seconds_to_98=round(reached.get("train_seconds", np.nan), 1),
                         train_seconds=round(history["train_seconds"], 1)))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    if Path(args.out).exists():                # keep the rows of candidates not run this time
        old = pd.read_csv(args.out)
        table = pd.concat([old[~old.candidate.isin(table.candidate)], table])
    table = table.sort_values("candidate")
    files.write_text(args.out, table.to_csv(index=False))
    if not args.no_readme:
        files.replace_between(args.readme, START, END, readme_section(table))
    return 0


def standard_error(accuracy):
    """One standard error of an accuracy measured on VAL_SIZE images."""
    return np.sqrt(accuracy * (1 - accuracy) / VAL_SIZE)


def close_to_best(table):
    """The candidates whose final validation accuracy is within one standard error of the best:
    closer than the validation set can tell apart."""
    best = table.final_val_acc.max()
    return table[table.final_val_acc >= best - standard_error(best)]


def chosen(table):
    """The selection rule: of the candidates close to the best (see close_to_best), the one
    that first reached 98% validation accuracy in the fewest training seconds; ties, and
    candidates that never reached it, go by final accuracy."""
    return close_to_best(table).sort_values(["seconds_to_98", "final_val_acc"],
                                            ascending=[True, False], na_position="last").iloc[0]


def readme_section(table):
    best = chosen(table)
    acc = table.final_val_acc
    top = acc.max()
    shown = table.assign(final_val_acc=(100 * acc).map("{:.2f}".format),
                         best_val_acc=(100 * table.best_val_acc).map("{:.2f}".format))
    return "\n".join([
        START, shown.to_markdown(index=False), "",
        f"Final validation accuracy ranges over {100 * acc.min():.2f}–{100 * top:.2f}% "
        f"across the {len(table)} candidates; one standard error of an accuracy measured on "
        f"{VAL_SIZE:,} images is {100 * standard_error(top):.2f} points, so "
        f"{len(close_to_best(table))} candidates are within it of the best. "
        f"Chosen (of those, the first to reach 98%): candidate {best.candidate}, hidden "
        f"{best.hidden}, {best.optimizer} lr {best.lr:g}, batch {best.batch_size}, "
        f"{best.epochs} epochs, weight decay {best.weight_decay:g}, label smoothing "
        f"{best.label_smoothing:g}, weight average decay {best.ema:g}.",
        END])


if __name__ == "__main__":
    sys.exit(main())
