"""The project's folders, named once."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]     # the repository: README.md, the commands
CACHE_DIR = ROOT / "data"                      # downloaded data sets (git ignores it)
LEARNING_CURVES = ROOT / "learning_curves"     # results tables, curves, benchmarks
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def results_folder(dataset, base=None):
    """Where compare.py and tune.py write a data set's tables and pictures: MNIST's in
    learning_curves/ (or `base`), every other data set's in a folder of its own inside it."""
    base = Path(base) if base else LEARNING_CURVES
    return base if dataset == "mnist" else base / dataset


def tuning_table(dataset, search, base=None):
    """Where tune.py writes a search's table: tuning.csv for the MLP's, tuning-<search>.csv for
    another's, in the data set's results_folder."""
    name = "tuning.csv" if search == "mlp" else f"tuning-{search}.csv"
    return results_folder(dataset, base) / name


def results_root(out, dataset, model):
    """The folder of every data set's results that `out` sits in, as compare.py lays them out
    (results_folder, and a model's own folder inside for any model but the MLP), or None where
    `out` is laid out otherwise."""
    out = Path(out)
    for part, plain in ((model, "mlp"), (dataset, "mnist")):
        if part != plain:
            if out.name != part:
                return None
            out = out.parent
    return out
