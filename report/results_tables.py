"""The README's results section (MNIST's MLP, both twins, every seed) and its table of every
data set, written from the results tables alone, with no dates: the same results give the same
README."""
import numpy as np
import pandas as pd

from datasets.catalog import DATASETS
from report.machine import labels_of, machines_of
from storage.atomic import FileError
from storage.paths import results_folder
from storage.tables import as_numbers, check_twins, read_table, refuse
from training.config import MODELS
from report.verdicts import (QUICK_RUN, QUICK_SAID, at_least, at_most, chance_of, quick_run,
                             seconds_or_never, verdict)
from training.defaults import MNIST_TARGETS, TARGETS
from training.models import describe

START, END = "<!-- results:start -->", "<!-- results:end -->"
# What compare.py writes for each twin and seed, and which of it the sections read as numbers.
MEASURED = ("test_acc", "test_loss", "train_seconds", "seconds_per_epoch", "images_per_second",
            "seconds_to_98", "peak_memory_mb", "max_step_loss_diff")
# Written since compare.py counts the images exactly one twin gets right; older rows lack them.
COUNTED = ("test_images", "discordant")
MOST_TEST_IMAGES = 100_000          # above every data set's test set (MNIST's 70,000 in all)
RESULT_COLUMNS = ("implementation", "device", "seed", "hidden", "epochs", "lr", *MEASURED)
DATASETS_START, DATASETS_END = "<!-- datasets:start -->", "<!-- datasets:end -->"


def has_results_section(cfg):
    """Whether a run of cfg is the one the README's results section reports: MNIST's MLP (the
    accuracy-and-speed issue's targets); any other run has a row in the data sets table only."""
    return cfg.dataset == "mnist" and cfg.model == "mlp"


def by_seed(results):
    """results pivoted by seed, and per seed the NumPy / PyTorch time ratio and the twins'
    accuracy gap in points."""
    pivot = results.pivot(index="seed", columns="implementation")
    ratio = pivot.train_seconds.numpy / pivot.train_seconds.torch
    gap = 100 * (pivot.test_acc.numpy - pivot.test_acc.torch).abs()
    return pivot, ratio, gap


def results_section(results, parity, cfg, images):
    """The markdown between the README's results markers; a --quick run's (quick_run) says so
    and is not held to the targets."""
    quick = quick_run(results)
    pivot, ratio, gap = by_seed(results)
    machine, labels = machines_of(results)
    f64 = parity[parity.dtype == "float64"]
    return "\n".join([
        START,
        f"Produced by `python compare.py{' --quick' * quick}` ("
        f"{QUICK_RUN if quick else f'{cfg.epochs} epoch' + 's' * (cfg.epochs != 1)}, "
        f"{describe(cfg)}, {cfg.optimizer} lr {cfg.lr:g} {cfg.schedule}, "
        f"batch {cfg.batch_size}, weight decay {cfg.weight_decay:g}, label smoothing "
        f"{cfg.label_smoothing:g}, weight average decay {cfg.ema:g}, {cfg.dtype}) {machine}.",
        "",
        with_machine(results_frame(results, labels)).to_markdown(index=False),
        "",
        f"- Test accuracy, lowest over seeds {', '.join(map(str, pivot.index))}: NumPy "
        f"{100 * pivot.test_acc.numpy.min():.2f}%, PyTorch {100 * pivot.test_acc.torch.min():.2f}%; "
        f"largest gap between the twins {gap.max():.2f} percentage points.",
        f"- Training time NumPy / PyTorch: median ratio {ratio.median():.2f} "
        f"(per seed: {', '.join(f'{x:.2f}' for x in ratio)}). Training time excludes the "
        f"per-epoch evaluation; seconds to 98% count training time up to the first epoch whose "
        f"test accuracy reached 98.0%.",
        f"- Float64 parity run ({f64.step.max() + 1} steps, same config): largest per-step loss "
        f"difference {f64.abs_diff.max():.1e}.",
        "",
        *([f"{QUICK_SAID[0].upper()}{QUICK_SAID[1:]}."] if quick
          else targets_table(results, ratio, gap)),
        "",
        " ".join(f"![{name}]({images}/{name}.png)" for name in ("accuracy", "loss")),
        f"![parity]({images}/parity.png)",
        "",
        "What the twins of the first seed get wrong, and what their first layer learnt:",
        "",
        f"![confusion]({images}/confusion.png)",
        f"![errors]({images}/errors.png)",
        f"![first layer]({images}/first_layer.png)",
        END,
    ])


def results_frame(r, labels):
    """The results table as shown: one row per seed and twin (labels: machines_of's)."""
    return pd.DataFrame({
        "seed": r.seed, "twin": r.implementation, "device": r.device, "dtype": r.dtype,
        "test acc (%)": (100 * r.test_acc).map("{:.2f}".format),
        "test loss": r.test_loss.map("{:.4f}".format),
        "train s": r.train_seconds.map("{:.1f}".format),
        "s / epoch": r.seconds_per_epoch.map("{:.2f}".format),
        "images / s": r.images_per_second.map("{:,.0f}".format),
        "s to 98%": r.seconds_to_98.map(lambda s: "never" if np.isnan(s) else f"{s:.1f}"),
        "peak MiB": r.peak_memory_mb.map("{:.0f}".format),
        "max step loss diff": r.max_step_loss_diff.map("{:.1e}".format), "machine": labels})


def with_machine(frame):
    """The table as shown: its column `machine` (machines_of's labels) only where its rows come
    from several machines."""
    return frame if (frame.machine != "").any() else frame.drop(columns="machine")


def targets_table(r, ratio, gap):
    """The MNIST MLP's targets (defaults.MNIST_TARGETS) against the results, as table lines."""
    t, lowest = MNIST_TARGETS, r.test_acc.min()
    slowest = r.seconds_to_98.max(skipna=False)     # a twin that never reached it: NaN, never
    return [
        "Against the targets of the accuracy-and-speed issue (lowest over seeds and twins):",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| test accuracy ≥ {100 * t['accuracy']:.2f}% | {100 * lowest:.2f}% | "
        f"{verdict(at_least(lowest, t['accuracy']))} |",
        f"| twins within {t['gap']:.2f} points | {gap.max():.2f} points{chance_of(r, gap)} | "
        f"{verdict(at_most(gap.max(), t['gap']))} |",
        f"| NumPy / PyTorch time ≤ {t['time_ratio']:.2f} (median) | {ratio.median():.2f} | "
        f"{verdict(at_most(ratio.median(), t['time_ratio']))} |",
        f"| training < {t['seconds']} s per twin | {r.train_seconds.max():.1f} s | "
        f"{verdict(r.train_seconds.max() < t['seconds'])} |",
        f"| {100 * t['reach']:.1f}% reached in < {t['seconds_to_reach']} s | "
        f"{seconds_or_never(slowest)} | {verdict(slowest < t['seconds_to_reach'])} |",
    ]


def read_results(path, keys=("seed",), columns=()):
    """A results table (compare.py's results.csv, or models.csv with keys name and seed),
    checked: FileError unless it has the columns the sections read (and `columns`), numbers
    where numbers belong, and one row per twin for each of `keys`."""
    table = read_table(path, "results table", (*RESULT_COLUMNS, *keys, *columns),
                       ("seed", "epochs", "lr", *MEASURED))
    as_numbers(table, path, [c for c in COUNTED if c in table])     # rows before them lack them
    check_twins(table, path, keys)
    check_judged(table, path)
    check_counts(table, path, keys)
    for column, allowed in (("device", ("cpu", "cuda")), ("dataset", tuple(DATASETS)),
                            ("model", MODELS)):
        if column in table and not table[column].isin(allowed).all():
            wrong = table[column][~table[column].isin(allowed)].iloc[0]
            raise FileError(f"{path}: column {column} holds {wrong!r}, not one of "
                            f"{', '.join(allowed)}")
    check_text(table, path)
    return table


def check_judged(table, path):
    """FileError unless every row holds the numbers targets are judged by: a test accuracy
    between 0 and 1 and training seconds of at least 0 (a blank one was skipped by min() and
    max(), and its targets called met). seconds_to_98 may be blank: that twin never got there."""
    for column, low, high in (("test_acc", 0, 1), ("train_seconds", 0, float("inf"))):
        values = table[column]
        wrong = values[~values.between(low, high)]             # NaN is not between them
        refuse(path, column, wrong, f"a number from {low:g} to {high:g}")


def check_counts(table, path, keys):
    """FileError unless each count compare.py wrote (test_images, discordant; blank in rows from
    before them) is a whole number, the test set from 1 to MOST_TEST_IMAGES images, discordant
    images between 0 and it, and both twins' rows of a seed hold the same counts (they are the
    pair's). The bound keeps McNemar's exact count (linear in d, on integers of d bits) to a
    second: 1e12 counted images would never finish."""
    present = [c for c in COUNTED if c in table]
    for column in present:
        values = table[column].dropna()
        low = 1 if column == "test_images" else 0
        wrong = values[~np.isfinite(values) | (values % 1 != 0) | (values < low)
                       | (values > MOST_TEST_IMAGES)]
        refuse(path, column, wrong, f"a whole number of images from {low} to "
                                    f"{MOST_TEST_IMAGES:,}")
    if set(COUNTED) <= set(present):
        over = table[table.discordant > table.test_images]
        if len(over):
            raise FileError(f"{path}: row {over.index[0] + 2} counts {over.discordant.iloc[0]:g} "
                            f"discordant of {over.test_images.iloc[0]:g} test images")
    for key, rows in table.groupby(list(keys), sort=False):
        for column in present:
            if rows[column].nunique(dropna=False) > 1:
                said = ", ".join(f"{k} {v}" for k, v in zip(keys, key))
                raise FileError(f"{path}: the twins' rows of {said} hold different {column} "
                                f"({', '.join(f'{v:g}' for v in rows[column])}); they count "
                                f"one pair")


def check_text(table, path):
    """FileError if a text cell would break the README it is shown in: a line break or a
    table's | would cut its row, <!-- or --> would add or end a generated section."""
    for column in table.columns:
        if pd.api.types.is_numeric_dtype(table[column]):
            continue
        for value in table[column].dropna().astype(str):
            if any(bad in value for bad in ("\n", "\r", "|", "<!--", "-->")):
                raise FileError(f"{path}: column {column} holds {value!r}, which would break "
                                f"the README's table")


def read_parity(path):
    """compare.py's parity.csv, checked as read_results checks a results table; it must hold
    the float64 run the section quotes."""
    table = read_table(path, "parity table", ("dtype", "step", "loss_numpy", "loss_torch",
                                              "abs_diff"),
                       ("step", "loss_numpy", "loss_torch", "abs_diff"))
    if not (table.dtype == "float64").any():
        raise FileError(f"{path} holds no float64 rows: not the parity table of a compare.py "
                        f"run")
    return table


def all_results(base):
    """Every data set's results.csv under `base` (see storage.paths.results_folder; a CNN's in
    its folder's cnn/), in DATASETS' order, MLP before CNN, as one table with the columns
    `dataset` and `model`."""
    tables = []
    for name in DATASETS:
        for model in MODELS:
            folder = results_folder(name, base) / ("" if model == "mlp" else model)
            if (folder / "results.csv").is_file():
                table = read_results(folder / "results.csv")
                for column, own in (("dataset", name), ("model", model)):
                    if column in table and (table[column] != own).any():
                        raise FileError(f"{folder / 'results.csv'} holds results of another "
                                        f"{column} than {own}, whose folder it is in")
                tables.append(table.assign(dataset=table.get("dataset", name),  # older: MNIST's
                                           model=table.get("model", model)))
    if not tables:
        raise FileError(f"no results.csv under {base} to build the data sets table from")
    return pd.concat(tables, ignore_index=True)


def datasets_section(results):
    """The README table of every data set x twin, from the data sets' results tables alone; a
    data set's --quick rows (quick_run) are not held to its targets."""
    results = results.reset_index(drop=True)      # one label per row
    rows, verdicts = [], []
    machine, labels = machines_of(results)
    seeds = sorted(results.seed.unique())
    for (name, model), r in results.groupby(["dataset", "model"], sort=False):
        _, ratio, gaps = by_seed(r)
        gap, ratio = gaps.max(), ratio.median()
        for twin in ("numpy", "torch"):
            t = r[r.implementation == twin]
            rows.append({"data set": name, "twin": twin, "device": t.device.iloc[0],
                         "network": network_of(r.iloc[0]),
                         "seeds": len(t), "test acc (%), lowest": f"{100 * t.test_acc.min():.2f}",
                         "largest twin gap (points)": f"{gap:.2f}",
                         "train s, longest": f"{t.train_seconds.max():.1f}",
                         "NumPy / PyTorch time": f"{ratio:.2f}",
                         "machine": labels_of(labels, t)})
        label = name if model == "mlp" else f"{name} {model}"
        verdicts.append(f"- {label}: {QUICK_SAID}." if quick_run(r)
                        else target_line(label, r, gaps))
    return "\n".join([
        DATASETS_START,
        f"Produced by `python compare.py --dataset NAME [--model cnn]"
        f"{' --quick' * quick_run(results, every=True)}` for each data set (its "
        f"own defaults: see docs/defaults.md), seeds {', '.join(map(str, seeds))}; "
        f"this table is rebuilt from every data set's `results.csv` after each run. Kaggle's "
        f"test accuracy is on the held-out last 10% of train.csv. Measured {machine}.",
        "",
        with_machine(pd.DataFrame(rows)).to_markdown(index=False,
                                                             disable_numparse=True),
        "",
        *verdicts,
        DATASETS_END])


def network_of(row):
    """The network a results row was measured with, in a few words: as compare.py wrote it
    (column `network`, training.models.describe), else, for older MLP rows, from its widths."""
    if isinstance(row.get("network"), str):
        return row.network
    if row.get("model", "mlp") != "mlp":
        return row.model.upper()                  # its shape was not recorded
    spec = DATASETS[row.dataset]
    return "MLP " + "-".join(str(n) for n in (spec.n_inputs, row.hidden, spec.n_classes)
                             if str(n) != "0")


def target_line(name, r, gaps):
    """One line: the data set's targets (defaults.TARGETS, by the data set's name, followed by
    ' cnn' for its CNN) against what its results show (gaps: by_seed's, per seed)."""
    target, gap = TARGETS.get(name, {}), gaps.max()
    parts = []
    if "accuracy" in target:
        parts.append((f"test accuracy ≥ {100 * target['accuracy']:.2f}%",
                      f"{100 * r.test_acc.min():.2f}%", at_least(r.test_acc.min(),
                                                               target["accuracy"])))
    if "gap" in target:
        parts.append((f"twins within {target['gap']:.2f} points",
                      f"{gap:.2f}{chance_of(r, gaps)}", at_most(gap, target["gap"])))
    if "seconds" in target:
        parts.append((f"training < {target['seconds']} s per twin",
                      f"{r.train_seconds.max():.1f} s", r.train_seconds.max() < target["seconds"]))
    said = "; ".join(f"{what}: {got}, {verdict(ok)}" for what, got, ok in parts)
    return f"- {name}: {said}." if parts else f"- {name}: no target set."
