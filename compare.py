"""Train both twins side by side and regenerate the README's results.

For each seed, the NumPy twin and the PyTorch twin start from the same initial weights
(training.models.init_params) and see the same batches in the same order
(datasets.catalog.batch_order); both are scored on the data set's test set (Kaggle's: the
held-out tenth of train.csv) after every epoch. A short float64 run of both twins shows how
closely they track when rounding is no longer the limit.

Writes to --out (default learning_curves/ for MNIST, learning_curves/<data set>/ for another,
a cnn/ folder inside it for --model cnn):
    results.csv    one row per twin and seed
    parity.csv     every step's loss of both twins, float32 and float64
    loss.png, accuracy.png, parity.png
    confusion.png, errors.png, first_layer.png   the first seed's twins: their confusion
                   matrices, the test images they get wrong, their first layer's weights
and rewrites the README (unless --no-readme; with --quick only a --readme named): MNIST's MLP's
results section, and the table of every data set, rebuilt from all the data sets' results.csv
under the folder --out sits in (this run's alone where --out is not laid out as the default),
so that re-running one data set never erases another's numbers.

    python compare.py                 # the README's numbers: defaults, seeds 0 1 2, on the CPU
    python compare.py --dataset lines # another data set, with its own defaults
    python compare.py --device cuda   # torch on the GPU, the NumPy twin through CuPy
    python compare.py --quick         # seconds: a subset, one epoch, into a temporary folder
    python compare.py --models        # every model (softmax regression, the single neuron, the
                                      # MLP, the CNNs, the regularised ones): models.csv and the
                                      # README's models table; --models KEY ...: those rows (the
                                      # neuron's: and its NumPy twin from nudged starts,
                                      # training/sensitivity.py)
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd

from cli.flags import add_run_flags
from cli.run import ERRORS, fail, warn
from datasets.catalog import load as load_dataset
from report import figures
from report.machine import machine_line
from report.models_table import MODELS_END, MODELS_START, models_section, read_models
from report.results_tables import (DATASETS_END, DATASETS_START, END, START, all_results,
                                   datasets_section, has_results_section, read_parity,
                                   read_results, results_section)
from storage.atomic import (FileError, check_markers, check_writable, replace_between,
                            write_text)
from storage.paths import README, results_folder, results_root
from training import config, loop, models
from training.defaults import MODEL_PICTURES, MODEL_RUNS, QUICK_TEST, QUICK_TRAIN
from training.lockstep import CONFIG_COLUMNS, parity_run, run_seeds
from training.model_rows import in_order, measures, model_config, row_keeps
from twins import load_twin
from twins.base import TwinError
from twins.numpy_twin import cupy_or_error


def parse(argv=None):
    parser = add_run_flags(config.build_parser(__doc__.splitlines()[0]), weights=False)
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="one comparison per seed (the curves show the first; default 0 1 2)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_TRAIN} training images, 1 epoch, 1 seed; "
                             "into a temporary folder; the README untouched unless --readme "
                             "names a page")
    parser.add_argument("--out", help="folder for the CSVs and PNGs (default learning_curves/, "
                                      "learning_curves/<data set>/, and cnn/ inside for a CNN)")
    parser.add_argument("--readme", default=str(README), help="README to update")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument("--models", nargs="*", metavar="KEY",
                        help="train the models table's rows, each with its defaults and the "
                             "flags given (a flag for what a row fixes, as the single neuron's "
                             "--hidden, keeps the row's value: said at the row's start): all, "
                             "or those named (" + ", ".join(MODEL_RUNS) +
                             "); models.csv keeps the other rows, and the README's models "
                             "table is rebuilt from it")
    parser.add_argument("--from-results", action="store_true",
                        help="train nothing: rewrite the README section from the results.csv "
                             "and parity.csv already in --out")
    args = parser.parse_args(argv)
    cfg = config.config_from_args(parser, args)
    args.given = config.given_values(args)
    unknown = [key for key in args.models or () if key not in MODEL_RUNS]
    if unknown:
        parser.error(f"--models takes {', '.join(MODEL_RUNS)}, not {', '.join(unknown)}")
    if args.from_results:
        ignored = [config.flag(k) for k in args.given] + [
            flag for flag, on in (("--seeds", args.seeds), ("--quick", args.quick),
                                  ("--no-readme", args.no_readme),
                                  ("--threads", any(a.split("=")[0] == "--threads"
                                                    for a in argv or sys.argv))) if on]
        if ignored:
            parser.error(f"--from-results rewrites the README from the results in --out, which "
                         f"decide the run: {', '.join(ignored)} would do nothing")
    args.seeds = args.seeds or [0, 1, 2]
    if len(set(args.seeds)) < len(args.seeds) or min(args.seeds) < 0:
        parser.error(f"--seeds must be distinct whole numbers from 0, got "
                     f"{' '.join(map(str, args.seeds))}")
    if args.models is not None and cfg.dataset != "mnist" and args.readme == str(README) \
            and not args.no_readme:
        parser.error(f"--models --dataset {cfg.dataset} would replace MNIST's models table in "
                     f"README.md: give --no-readme, or --readme naming another page")
    if args.quick:
        cfg = replace(cfg, epochs=1)
        args.seeds = args.seeds[:1]
        args.no_readme = args.no_readme or args.readme == str(README)
    args.out = Path(args.out or default_out(cfg, args.quick))
    try:                                  # --from-results reads it: nothing to make there
        if not args.from_results:
            args.out.mkdir(parents=True, exist_ok=True)
            check_writable(args.out / "results.csv")
    except OSError as e:
        parser.error(f"--out {args.out}: {e.strerror}")
    except FileError as e:
        parser.error(f"--out: {e}")
    if not args.no_readme or args.from_results:          # before hours of training, not after
        try:
            for start, end in readme_sections(cfg, args):
                check_markers(args.readme, start, end)
        except FileError as e:
            parser.error(f"--readme: {e}")
    return parser, cfg, args


def readme_sections(cfg, args):
    """The (start, end) markers of the README sections this run rewrites."""
    if args.models is not None:
        return [(MODELS_START, MODELS_END)]
    results = [(START, END)] if has_results_section(cfg) else []
    return results + [(DATASETS_START, DATASETS_END)]


def default_out(cfg, quick):
    """A temporary folder for --quick; else learning_curves/[<data set>/][<model>/]."""
    if quick:
        return tempfile.mkdtemp(prefix="compare-")
    folder = results_folder(cfg.dataset)
    return folder if cfg.model == "mlp" else folder / cfg.model


def load_data(args, dtype):
    ds = load_dataset(args.dataset, args.data_dir, dtype)
    if args.quick:
        ds = ds.head(QUICK_TRAIN, QUICK_TEST)
    return ds


def numpy_device(args):
    """Where the NumPy twin runs: the GPU through CuPy, or the CPU, said in one line."""
    if args.device == "cpu":
        return "cpu"
    try:
        cupy_or_error()
        return "cuda"
    except TwinError as e:
        print(f"{e}: the NumPy twin runs on the CPU")
        return "cpu"


def main(argv=None):
    parser, cfg, args = parse(argv)
    try:
        with loop.signals_interrupt(), loop.stop_between_steps():
            return compare(parser, cfg, args)
    except ERRORS as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted: no results written", 128 + loop.stopped_by())


def compare(parser, cfg, args):
    """Everything main does, once Ctrl-C is taken care of."""
    if args.from_results:
        return rewrite_from_results(cfg, args)
    devices = {"numpy": numpy_device(args), "torch": args.device}
    load_twin("torch", args.device, args.threads)            # fails early without a GPU
    dataset = load_data(args, cfg.dtype)
    problem = models.batch_problem(cfg, len(dataset.y_train))
    if problem:
        parser.error(problem)
    if args.models is not None:
        return compare_models(args, dataset, devices)
    models.check_memory(cfg)
    warn(dataset)                  # past every check: an error stays the run's one line
    progress = not args.no_progress
    rows, steps, curves = run_seeds(cfg, dataset, devices, args.threads, args.seeds, progress)
    rows = [dict(r, network=models.describe(cfg), machine=machine(args), quick=args.quick)
            for r in rows]
    parity = pd.concat([steps, parity_run(cfg, load_data(args, "float64"), devices,
                                          args.threads, progress)], ignore_index=True)
    results = pd.DataFrame(rows)
    write_text(args.out / "results.csv", results.to_csv(index=False))
    write_text(args.out / "parity.csv", parity.to_csv(index=False))
    figures.plot_curves(curves, args.out, dataset.spec.title)
    figures.plot_parity(parity, args.out)
    figures.plot_explanations(curves, dataset.x_test, dataset.y_test, dataset.spec, args.out,
                              dataset.spec.title)
    print(f"wrote results.csv, parity.csv and the pictures (loss, accuracy, parity, confusion, "
          f"errors, first_layer .png) in {args.out}")
    if has_results_section(cfg):
        section = results_section(results, parity, cfg, images_path(args))
        print("\n".join(section.splitlines()[1:-3]))
    else:
        shown = results[["seed", "implementation", "test_acc", "train_seconds"]]
        print(shown.to_string(index=False))
    if not args.no_readme:
        write_readme(cfg, args, results, parity)
    return 0


def compare_models(args, dataset, devices):
    """The rows of defaults.MODEL_RUNS asked for (all by default) with both twins, each written
    into models.csv as it ends (the other rows kept: the table fills model by model); the
    pictures of defaults.MODEL_PICTURES' rows; the README's models table, from models.csv."""
    keys = args.models or list(MODEL_RUNS)
    configs = {key: model_config(*MODEL_RUNS[key], args.given, args.dataset, args.quick)
               for key in keys}
    warn(dataset)                  # past every check: an error stays the run's one line
    kept = args.out / "models.csv"           # read, and checked, before any training
    table = read_models(kept) if args.models and kept.is_file() else None
    for key, cfg in configs.items():
        name, n_params = MODEL_RUNS[key][0], models.n_params(cfg)
        print(f"--- {name}: {models.describe(cfg)}, {n_params:,} parameters"
              + row_keeps(MODEL_RUNS[key][1], args.given), flush=True)
        model_rows, _, curves = run_seeds(cfg, dataset, devices, args.threads, args.seeds,
                                          not args.no_progress)
        beside = measures(key, cfg, dataset, model_rows, args.threads)   # the bound, ...
        rows = pd.DataFrame([dict(r, name=name, parameters=n_params, **beside[r["seed"]],
                                  network=models.describe(cfg), machine=machine(args),
                                  quick=args.quick)
                             for r in model_rows])
        table = rows if table is None else in_order(pd.concat([table[table.name != name],
                                                               rows]))
        write_text(args.out / "models.csv", table.to_csv(index=False))
        if key in MODEL_PICTURES:
            folder = args.out / MODEL_PICTURES[key]
            folder.mkdir(parents=True, exist_ok=True)
            figures.plot_curves(curves, folder, f"{dataset.spec.title} {name}")
            figures.plot_explanations(curves, dataset.x_test, dataset.y_test, dataset.spec,
                                      folder, f"{dataset.spec.title} {name}")
    section = models_section(table, images_path(args))
    print("\n".join(section.splitlines()[1:-1]))
    if not args.no_readme:
        changed = replace_between(args.readme, MODELS_START, MODELS_END, section)
        print(f"{args.readme}: models section {'rewritten' if changed else 'unchanged'}")
    return 0


def rewrite_from_results(cfg, args):
    """The README sections from the CSVs of an earlier run (its config is read from them)."""
    if args.models is not None:
        section = models_section(read_models(args.out / "models.csv"), images_path(args))
        changed = replace_between(args.readme, MODELS_START, MODELS_END, section)
        print(f"{args.readme}: models section {'rewritten' if changed else 'unchanged'}")
        return 0
    results = read_results(args.out / "results.csv", columns=CONFIG_COLUMNS)
    parity = read_parity(args.out / "parity.csv")
    first = results.iloc[0]
    try:
        cfg = replace(cfg, **{k: type(getattr(cfg, k))(first[k])
                              for k in CONFIG_COLUMNS if k != "hidden"},
                      hidden=tuple(int(h) for h in str(first["hidden"]).split("-")))
    except (KeyError, ValueError) as e:
        raise FileError(f"--from-results: {args.out / 'results.csv'} is not a results "
                        f"table of this version of compare.py ({e})")
    write_readme(cfg, args, results, parity)
    return 0


def write_readme(cfg, args, results, parity):
    """MNIST's results section (for a run of MNIST's MLP), then the table of every data set;
    both made before either is written, so that a table that cannot be read leaves the page as
    it was, not half rewritten."""
    root = results_root(args.out, cfg.dataset, cfg.model)
    sections = [("data sets", DATASETS_START, DATASETS_END, datasets_section(
        all_results(root) if root else results.assign(dataset=cfg.dataset, model=cfg.model)))]
    if has_results_section(cfg):
        sections.insert(0, ("results", START, END,
                            results_section(results, parity, cfg, images_path(args))))
    for name, start, end, section in sections:
        changed = replace_between(args.readme, start, end, section)
        print(f"{args.readme}: {name} section {'rewritten' if changed else 'unchanged'}")


def machine(args):
    return machine_line(args.device, args.threads)


def images_path(args):
    try:
        return args.out.resolve().relative_to(Path(args.readme).resolve().parent).as_posix()
    except ValueError:
        return args.out.resolve().as_posix()


if __name__ == "__main__":
    sys.exit(main())
