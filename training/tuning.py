"""The rule that chooses a data set's defaults from tune.py's candidates, by their validation
scores alone, and the row each candidate's run gives."""
from dataclasses import replace

import numpy as np
import pandas as pd

from storage.atomic import FileError
from storage.tables import as_numbers, read_table
from training.defaults import AGREEMENT_GAP
from training.loop import first_epoch_reaching
from training.models import LOSS_WORDS

# What the tuning section reads of a tuning table.
TUNING_COLUMNS = ("candidate", "hidden", "optimizer", "lr", "weight_decay", "batch_size",
                  "epochs", "final_val_acc", "best_val_acc", "first_epoch_reaching",
                  "train_seconds", "label_smoothing", "ema", "seconds_to_reach")
# What an agreement search adds (training/agreement.py), all three or none.
AGREEMENT_COLUMNS = ("lowest_val_acc", "twin_gap", "self_spread")


def read_tuning(path, candidates, base, agreement=False):
    """A tuning table that tune.py wrote for this search, read back: FileError (one line) if
    it cannot be read, lacks the columns the section reads, or holds a row that is not this
    search's candidate of its number (another search's table, or an edited one); for an
    agreement search (`agreement`), if it lacks one of AGREEMENT_COLUMNS or a row holds a value
    no measurement gives (see check_agreement); for another, if it has one of them."""
    table = read_table(path, "tuning table", TUNING_COLUMNS,
                       ("candidate", "lr", "epochs", "batch_size", "final_val_acc",
                        "best_val_acc", "seconds_to_reach", "train_seconds"))
    measured = [c for c in AGREEMENT_COLUMNS if c in table]
    if agreement:
        check_agreement(table, path)
    elif measured:
        raise FileError(f"{path} has {measured[0]}, which only an agreement search measures, "
                        f"and this search is not one (another search's table?)")
    if table.candidate.duplicated().any():
        raise FileError(f"{path}: candidate {table.candidate[table.candidate.duplicated()].iloc[0]}"
                        f" appears twice")
    for row in table.itertuples():
        i = int(row.candidate)
        expected = described(i, replace(base, **candidates[i])) if 0 <= i < len(candidates) \
            else None
        if expected is None or any(str(getattr(row, k)) != str(expected[k])
                                   for k in ("hidden", "optimizer", "batch_size", "epochs")) \
                or not np.isclose(row.lr, expected["lr"]):
            raise FileError(f"{path}: its candidate {i} is not this search's candidate {i} "
                            f"(another search's table?)")
    return table


def check_agreement(table, path):
    """table (an agreement search's), its AGREEMENT_COLUMNS read as numbers; FileError naming
    the file and the first row that breaks what training/agreement.py writes: every column
    there, no blank, gaps and spreads at least 0, the lowest accuracy a fraction no higher
    than the row's final one (seed 0's NumPy run is among those it is the lowest of)."""
    missing = [c for c in AGREEMENT_COLUMNS if c not in table]
    if missing:
        raise FileError(f"{path} has no column {', '.join(missing)}: an agreement search's table "
                        f"has {', '.join(AGREEMENT_COLUMNS)} (a table from before; rerun the "
                        f"search)")
    as_numbers(table, path, AGREEMENT_COLUMNS)
    checks = {"blank": table[list(AGREEMENT_COLUMNS)].isna().any(axis=1),
              "a negative gap or spread": (table.twin_gap < 0) | (table.self_spread < 0),
              "a lowest accuracy outside 0-1 or above its final one":
                  (table.lowest_val_acc < 0) | (table.lowest_val_acc > table.final_val_acc)}
    for what, wrong in checks.items():
        if wrong.any():
            row = table.index[wrong][0]
            raise FileError(f"{path}: candidate {table.candidate[row]} (row {row + 2} of the "
                            f"file) has {what} among {', '.join(AGREEMENT_COLUMNS)}")


def described(i, cfg):
    """The columns of a tuning row that say what candidate i is."""
    convolutions = dict(channels="-".join(map(str, cfg.channels)), kernel=cfg.kernel) \
        if cfg.model == "cnn" else {}
    return dict(candidate=i, **convolutions, hidden="-".join(map(str, cfg.hidden)) or "0",
                **({"layers": additions(cfg)} if additions(cfg) else {}),
                optimizer=cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay,
                batch_size=cfg.batch_size, epochs=cfg.epochs)


def tuning_row(i, cfg, history, reach):
    last = history["epochs"][-1]
    accs = [e["val_acc"] for e in history["epochs"]]
    reached = first_epoch_reaching(history, reach)
    return dict(**described(i, cfg), final_val_acc=accs[-1], best_val_acc=max(accs),
                first_epoch_reaching=reached.get("epoch"),
                train_seconds=round(history["train_seconds"], 1),
                label_smoothing=cfg.label_smoothing, ema=cfg.ema,
                seconds_to_reach=round(reached.get("train_seconds", np.nan), 1),
                final_val_loss=round(last["val_loss"], 5))


def additions(cfg):
    """What cfg adds to the plain network, in a few words ("" for none): the activation, batch
    norm, dropout, augmentation, the output layer's start, the loss, a schedule other than
    cosine."""
    said = [cfg.activation] * (cfg.activation != "relu") + ["batch norm"] * cfg.batch_norm
    said += [f"dropout {cfg.dropout:g}"] * (cfg.dropout > 0)
    said += ["augment" + f" {cfg.distortion}" * (cfg.distortion != "affine")] * cfg.augment
    said += ["zero output"] * (cfg.output_init == "zero")
    said += [LOSS_WORDS[cfg.loss]] if cfg.loss in LOSS_WORDS else []
    said += [f"{cfg.schedule} lr"] * (cfg.schedule != "cosine")
    return ", ".join(said)


def standard_error(accuracy, val_size):
    """One standard error of an accuracy measured on val_size images."""
    return np.sqrt(accuracy * (1 - accuracy) / val_size)


def close_to_best(table, val_size):
    """The candidates whose final validation accuracy is within one standard error of the best:
    closer than the validation set can tell apart."""
    best = table.final_val_acc.max()
    return table[table.final_val_acc >= best - standard_error(best, val_size)]


def agreeing(table):
    """The candidates of an agreement search (a table with training/agreement.py's columns)
    whose twins end within AGREEMENT_GAP points of each other on every seed, and whose NumPy twin
    ends within as much of itself from starts one rounding step away: candidates not measured
    (NaN) do not agree."""
    return table[(table.twin_gap <= AGREEMENT_GAP) & (table.self_spread <= AGREEMENT_GAP)]


def chosen(table, val_size, seconds=None):
    """The selection rule: of the candidates close to the best (see close_to_best), the one
    that first reached the data set's `reach` accuracy in the fewest training seconds; ties,
    and candidates that never reached it, go by final accuracy.
    With `seconds` (training/defaults.tuning_seconds: the search's time target, scaled to its
    tuning run), only the candidates whose run took less are ranked (see fitting), so the best
    is the best that fits; where none fits, all are. This comes before the agreement below.
    A table that measured its candidates' agreement (a twin_gap column) is judged first by it:
    of the agreeing candidates, the one whose lowest validation accuracy over the seeds and
    twins is highest (the models table's own measure, over every seed, not seed 0's accuracy
    alone); where none agrees, the rule above over all.
    Where the best is 100%, its standard error is 0 and accuracy cannot rank the candidates
    that reach it (the lines set: a 1-in-5,000 error rate looks like none), so of those the
    one with the lowest final validation loss, the widest margin, is chosen instead."""
    table = fitting(table, seconds)
    if "twin_gap" in table and len(agreeing(table)):
        return agreeing(table).sort_values(["lowest_val_acc", "candidate"],
                                           ascending=[False, True]).iloc[0]
    if table.final_val_acc.max() == 1.0:
        return table[table.final_val_acc == 1.0].sort_values("final_val_loss").iloc[0]
    return close_to_best(table, val_size).sort_values(
        ["seconds_to_reach", "final_val_acc"], ascending=[True, False],
        na_position="last").iloc[0]


def fitting(table, seconds):
    """The candidates whose tuning run took under `seconds` (strictly, as compare.py judges the
    target; a blank, untimed run does not fit); all of them where none did, or where seconds is
    None."""
    fits = table[fits_in(table, seconds)]
    return fits if len(fits) else table


def fits_in(table, seconds):
    """Per candidate, whether its tuning run took under `seconds` (every one where None)."""
    if seconds is None:
        return pd.Series(True, index=table.index)
    return table.train_seconds < seconds
