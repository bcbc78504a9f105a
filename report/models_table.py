"""The README's table of every model x twin (compare.py --models), from models.csv alone."""
import pandas as pd

from report.machine import labels_of, machines_of
from report.results_tables import by_seed, read_results, with_machine
from report.verdicts import QUICK_SAID, at_least, at_most, chance_of, quick_run, verdict
from training.defaults import CNN_TARGETS, MODEL_PICTURES, MODEL_RUNS, ROW_TARGETS

MODELS_START, MODELS_END = "<!-- models:start -->", "<!-- models:end -->"


def read_models(path):
    """models.csv, checked as read_results checks a results table: one row per twin of each
    model (name) and seed, and the columns the models table shows."""
    return read_results(path, ("name", "seed"), ("parameters", "optimizer"))


def models_section(table, images):
    """The markdown between the README's models markers; a model's --quick rows (quick_run)
    are not held to its targets."""
    rows = []
    table = table.reset_index(drop=True)          # one label per row
    machine, labels = machines_of(table)
    for name, r in table.groupby("name", sort=False):
        _, ratio, _ = by_seed(r)
        for twin in ("numpy", "torch"):
            t = r[r.implementation == twin]
            first = t.iloc[0]
            rows.append({"model": name, "twin": twin, "parameters": f"{first.parameters:,}",
                         "test acc (%), lowest": f"{100 * t.test_acc.min():.2f}",
                         "train s, longest": f"{t.train_seconds.max():.1f}",
                         "epochs": str(first.epochs), "learning rate": f"{first.lr:g}",
                         "optimizer": first.optimizer, "device": first.device,
                         "NumPy / PyTorch time": f"{ratio.median():.2f}",
                         "one-number code reaches (%)": bound_of(first),
                         "machine": labels_of(labels, t)})
    cnn = table[table.name == "CNN"]
    seeds = ", ".join(map(str, sorted(table.seed.unique())))
    targets = [row_targets(name, table[table.name == name]) for name in ROW_TARGETS
               if (table.name == name).any()]
    return "\n".join([
        MODELS_START,
        f"Produced by `python compare.py --models{' --quick' * quick_run(table, every=True)}` "
        f"(seeds {seeds}; each model with its "
        f"defaults, both twins from the same weights on the same batches; a row may come from "
        f"its own run, `--models KEY`) {machine}.",
        "", with_machine(pd.DataFrame(rows)).to_markdown(index=False, disable_numparse=True),
        *(["", "Against the targets of the layers issue (lowest over seeds and twins):", "",
           *targets] if targets else []),
        *(cnn_targets(cnn) if len(cnn) and not quick_run(cnn) else []),
        *pictures(table, images),
        MODELS_END])


def row_targets(name, r):
    """One line: the row's targets (defaults.ROW_TARGETS) against its results, or, for a
    --quick run's rows, that they are not held to them."""
    if quick_run(r):
        return f"- {name}: {QUICK_SAID}."
    t, said = ROW_TARGETS[name], []
    _, ratio, gap = by_seed(r)
    if "accuracy" in t:
        said.append((f"test accuracy ≥ {100 * t['accuracy']:.2f}%",
                     f"{100 * r.test_acc.min():.2f}%", at_least(r.test_acc.min(), t["accuracy"])))
    if "gap" in t:
        said.append((f"twins within {t['gap']:.2f} points",
                     f"{gap.max():.2f}{spread_of(r)}{chance_of(r, gap)}",
                     at_most(gap.max(), t["gap"])))
    if "seconds" in t:
        said.append((f"a seed's training < {t['seconds'] // 60} minutes per twin",
                     f"{r.train_seconds.max():.0f} s", r.train_seconds.max() < t["seconds"]))
    if "time_ratio" in t:
        said.append((f"NumPy / PyTorch time ≤ {t['time_ratio']:.2f}", f"{ratio.median():.2f}",
                     at_most(ratio.median(), t["time_ratio"])))
    return f"- {name}: " + "; ".join(f"{what}: {got}, {verdict(ok)}" for what, got, ok in said) \
        + "."


def spread_of(r):
    """' (the NumPy twin against itself ...: X)' where the rows hold its spread over starts one
    step of their dtype apart (training/sensitivity.py), the largest over seeds; '' otherwise."""
    spread = r["self_spread"].max() if "self_spread" in r else float("nan")
    if pd.isna(spread):
        return ""
    dtypes = r.loc[r.self_spread.notna(), "dtype"].dropna().unique() if "dtype" in r else []
    step = f"{'/'.join(dtypes)} step" if len(dtypes) else "rounding step"
    return f" (the NumPy twin against itself, started one {step} away: up to {spread:.2f})"


def bound_of(row):
    """The row's one-number estimate as shown (what a one-number code is measured to reach, a
    lower estimate of a 784-1-10 network's ceiling), blank for the others."""
    bound = row.get("one_number_bound", float("nan"))
    return "" if pd.isna(bound) else f"{100 * bound:.2f}"


def cnn_targets(cnn):
    """The CNN's targets (defaults.CNN_TARGETS) against its rows, and its pictures."""
    t = CNN_TARGETS
    _, ratio, gaps = by_seed(cnn)
    gap = gaps.max()
    return [
        "", "The CNN against the targets of the convolutional-twin issue:", "",
        "| target | measured | |", "| --- | --- | --- |",
        f"| test accuracy ≥ {100 * t['accuracy']:.2f}%, both twins, lowest of the seeds | "
        f"{100 * cnn.test_acc.min():.2f}% | "
        f"{verdict(at_least(cnn.test_acc.min(), t['accuracy']))} |",
        f"| twins within {t['gap']:.2f} points | {gap:.2f} points{chance_of(cnn, gaps)} | "
        f"{verdict(at_most(gap, t['gap']))} |",
        f"| training < {t['seconds'] // 60} minutes per twin | {cnn.train_seconds.max():.0f} s | "
        f"{verdict(cnn.train_seconds.max() < t['seconds'])} |",
        f"| NumPy / PyTorch training time (median; this issue's ≤ 1.5 is on the step, "
        f"`bench.py --model cnn`, under *Speed*; the layers issue's ≤ 1.4 on this time, "
        f"above) | {ratio.median():.2f} | |"]


def pictures(table, images):
    """The pictures of defaults.MODEL_PICTURES' rows that the table holds (compare.py --models
    draws them into their folders)."""
    lines = []
    for key, folder in MODEL_PICTURES.items():
        name = MODEL_RUNS[key][0]
        if (table.name == name).any():
            at = f"{images}/{folder}"
            lines += ["", f"{name}: learning curves, confusion matrices, errors and first "
                          f"layer (seed {table[table.name == name].seed.min()}):", "",
                      f"![{key} accuracy]({at}/accuracy.png) ![{key} loss]({at}/loss.png)", "",
                      f"![{key} confusion]({at}/confusion.png)", f"![{key} errors]({at}/errors.png)",
                      f"![{key} filters]({at}/first_layer.png)"]
    return lines
