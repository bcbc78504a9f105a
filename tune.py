"""Choose the default hyperparameters on a validation set, never on the test set.

Trains a twin (NumPy unless --twin torch: the twins are held equal by the tests) on the
training images but the last few thousand for each candidate of the data set and model
(training/defaults.py's SEARCHES) and scores it on those held-out ones. Writes tuning.csv
(MNIST's MLP: learning_curves/tuning.csv; another data set's: learning_curves/<name>/tuning.csv;
a CNN's: tuning-cnn.csv beside it): one row per candidate with the final validation accuracy, the epoch
and the training seconds at which validation accuracy first reached the search's `reach`
accuracy, and the training seconds in all; and the README's tuning section of that search.
A search whose choice must keep its twins together (training/defaults.py's AGREEMENT_SEARCHES:
the single neuron) also trains each candidate by both twins on every seed, and the NumPy twin
from starts one rounding step away (training/agreement.py), and chooses among the candidates
whose twins agree.

    python tune.py [--dataset fashion-mnist] [--model cnn --twin torch] [--only N ...]
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from cli.run import ERRORS, fail, warn
from datasets.catalog import DATASETS, load as load_dataset
from report.tuning_table import markers, tuning_section
from storage.atomic import (FileError, check_markers, check_writable, replace_between,
                            write_text)
from storage.paths import DOCS, tuning_table
from training import loop, models
from training.config import MODELS, Config
from training.agreement import agreement
from training.defaults import (AGREEMENT_SEARCHES, AGREEMENT_STARTS, PLAIN, SEARCH_MODELS,
                               SEARCHES)
from training.sensitivity import finished, held_out_accuracy
from training.tuning import read_tuning, tuning_row
from twins import TWINS, load_twin


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--dataset", default="mnist", choices=tuple(DATASETS))
    parser.add_argument("--model", choices=MODELS, help="the model searched (default: the "
                                                       "search's, else mlp)")
    parser.add_argument("--search", help="a search by its name, when the data set has several "
                                         "for one model (training/defaults.py's SEARCHES; "
                                         "default: the model's)")
    parser.add_argument("--twin", default="numpy", choices=TWINS,
                        help="the twin that trains the candidates")
    parser.add_argument("--only", type=int, nargs="+", help="indices of the candidates to run")
    parser.add_argument("--out", help="the table (default: learning_curves/[<data set>/]"
                                      "tuning.csv for --search mlp, tuning-<search>.csv "
                                      "for the others)")
    parser.add_argument("--data-dir")
    parser.add_argument("--readme", default=str(DOCS / "defaults.md"),
                        help="the page holding the tuning sections")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--from-table", action="store_true",
                        help="train nothing: rewrite the README section from the table")
    args = parser.parse_args(argv)
    args.search = args.search or args.model or "mlp"
    model = SEARCH_MODELS.get(args.search, "mlp")
    if args.model and args.model != model:
        parser.error(f"--search {args.search} searches over {model.upper()}s, not --model "
                     f"{args.model}'s")
    args.model = model
    if (args.dataset, args.search) not in SEARCHES:
        parser.error(f"no search {args.search} on {args.dataset}; there are "
                     + ", ".join(f"{m} on {d}" for d, m in SEARCHES))
    if args.from_table:
        ignored = [f"--{f.replace('_', '-')}" for f in ("only", "data_dir", "no_readme")
                   if getattr(args, f)] + (["--twin"] if args.twin != "numpy" else [])
        if ignored:
            parser.error(f"--from-table rewrites the section from the table, which decides "
                         f"it: {', '.join(ignored)} would do nothing")
    candidates, _, _ = SEARCHES[args.dataset, args.search]
    if any(not 0 <= i < len(candidates) for i in args.only or ()):
        parser.error(f"--only takes candidates 0..{len(candidates) - 1}")
    args.out = Path(args.out or tuning_table(args.dataset, args.search))
    try:                                          # before hours of training, not after
        if not args.from_table:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            check_writable(args.out)
        if not args.no_readme or args.from_table:
            check_markers(args.readme, *markers(args.dataset, args.search))
    except (OSError, FileError) as e:
        parser.error(f"{getattr(e, 'strerror', None) or e}")
    return args


def main(argv=None):
    args = parse(argv)
    candidates, val_size, reach = SEARCHES[args.dataset, args.search]
    agreement_search = (args.dataset, args.search) in AGREEMENT_SEARCHES
    try:
        with loop.signals_interrupt(), loop.stop_between_steps():
            table = read_tuning(args.out, candidates, base_config(args, val_size),
                                agreement_search) \
                if args.from_table else run_candidates(args, candidates, val_size, reach)
        if not args.no_readme or args.from_table:
            start, end = markers(args.dataset, args.search)
            changed = replace_between(args.readme, start, end, tuning_section(
                table, args.dataset, val_size, reach, args.search))
            print(f"{args.readme}: section {'rewritten' if changed else 'unchanged'}")
        return 0
    except ERRORS as e:
        return fail(str(e))
    except loop.Diverged as e:
        return fail(f"a training diverged: {e}; {kept(args)}")
    except KeyboardInterrupt:
        return fail(f"interrupted: {kept(args)}", 128 + loop.stopped_by())


def kept(args):
    """What a search stopped part-way kept: the candidates it finished."""
    n = getattr(args, "finished", 0)
    return (f"the {n} candidate{'s' * (n != 1)} finished before it {'are' if n != 1 else 'is'} "
            f"in {args.out}") if n else "no candidate had finished"


def base_config(args, val_size):
    """What every candidate starts from: plain training of the search's model."""
    return Config(dataset=args.dataset, model=args.model, val_size=val_size, **PLAIN)


def run_candidates(args, candidates, val_size, reach):
    """Train each candidate asked for on the data set less its validation split; write and
    return the table, keeping the rows of candidates not run this time. Interrupted, or stopped
    by a training that diverged, it writes the candidates finished before (and re-raises)."""
    threads = len(os.sched_getaffinity(0))
    base = base_config(args, val_size)
    dataset = load_dataset(args.dataset, args.data_dir, base.dtype, val_size)
    warn(dataset)
    twin = load_twin(args.twin, "cpu", threads)
    # the rows kept from an earlier run, read and checked before any training, not after
    seeds = AGREEMENT_SEARCHES.get((args.dataset, args.search))
    old = read_tuning(args.out, candidates, base, seeds is not None) if args.out.exists() \
        else None
    rows = []
    try:
        for i in args.only or range(len(candidates)):
            cfg = replace(base, **candidates[i])
            model = models.build(twin, cfg, models.init_params(cfg))
            history = loop.train(twin, model, dataset, cfg, f"candidate {i}", False)
            row = tuning_row(i, cfg, finished(history), reach)
            if seeds:
                print(f"candidate {i}: both twins on seeds {', '.join(map(str, seeds))}, and the "
                      f"NumPy twin from {AGREEMENT_STARTS} nudged starts a seed", flush=True)
                row.update(agreement(cfg, dataset, threads, seeds, AGREEMENT_STARTS,
                                     known={(args.twin, cfg.seed): held_out_accuracy(history)}))
            rows.append(row)
            print(pd.DataFrame(rows).to_string(index=False), flush=True)
    finally:
        args.finished = len(rows)
        table = pd.DataFrame(rows)
        if old is not None and rows:
            table = pd.concat([old[~old.candidate.isin(table.candidate)], table])
        if rows:
            table = table.sort_values("candidate")
            write_text(args.out, table.to_csv(index=False))
    return table


if __name__ == "__main__":
    sys.exit(main())
