"""Reading and checking Kaggle's train.csv (datasets.kaggle.read_csv) against a bare
pandas.read_csv of the same 42,000-row file, made from MNIST in a temporary folder, the two
taking turns. Not a twin benchmark: it measures what the checks cost. Writes bench-csv.csv and
docs/data.md between its bench-csv markers (`python bench.py --kaggle-csv`)."""
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.timing import median_seconds
from datasets import kaggle
from report.machine import machine_line
from storage.atomic import replace_between, write_text

CSV_START, CSV_END = "<!-- bench-csv:start -->", "<!-- bench-csv:end -->"
MARKERS = (CSV_START, CSV_END)


def run(args):
    """Median seconds of kaggle.read_csv and of a bare pandas.read_csv on train.csv."""
    with tempfile.TemporaryDirectory() as folder:
        kaggle.from_mnist(folder, args.data_dir)
        path = Path(folder) / "train.csv"
        fns = {"pandas_read_csv": lambda: pd.read_csv(path),
               "read_and_check": lambda: kaggle.read_csv(path, labelled=True)}
        seconds = median_seconds(fns, lambda: None, args.repeats, block=1, warmup=1)
        rows = len(kaggle.read_csv(path, labelled=True)[1])
    ratio = seconds["read_and_check"] / seconds["pandas_read_csv"]
    results = pd.DataFrame([dict(rows=rows, repeats=args.repeats, **seconds,
                                 read_and_check_over_pandas=ratio)])
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "bench-csv.csv", results.to_csv(index=False))
    section = "\n".join([
        CSV_START,
        f"Produced by `python bench.py --kaggle-csv` on: {machine_line('cpu', args.threads)}. "
        f"A {rows:,}-row train.csv in Kaggle's format (made from MNIST), medians of "
        f"{args.repeats} calls each, the two taking turns: a bare `pandas.read_csv` "
        f"{seconds['pandas_read_csv']:.2f} s; `datasets.kaggle.read_csv`, which reads and "
        f"checks it, {seconds['read_and_check']:.2f} s: **{ratio:.2f}x** (target ≤ 1.5x: "
        f"**{'met' if ratio <= 1.5 else 'missed'}**).",
        CSV_END])
    print(section.splitlines()[1])
    if not args.no_readme:
        changed = replace_between(args.readme, CSV_START, CSV_END, section)
        print(f"{args.readme}: section {'rewritten' if changed else 'unchanged'}")
    return 0
