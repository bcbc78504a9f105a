"""Time one training step (forward, backward, update) of both twins, and the matmul ceiling;
each benchmark is a module of benchmarks/.

    python bench.py [--widths 128 512 1024 2048] [--batches 32 128 512 1024] [--device cuda]
    python bench.py --model cnn [--batches 32 64 128 256 512]   # the CNNs
    python bench.py --kaggle-csv    # reading and checking Kaggle's train.csv against pandas

The MLP (benchmarks/mlp_step.py): for each hidden width and batch size, the median time of a
full training step of the NumPy twin and of the PyTorch twin (after warm-up), the GFLOP/s that
makes, and in the same run the machine's ceiling: the same matrix products alone, as plain
float32 products in NumPy and in torch. Writes learning_curves/bench.csv and bench.png and the
README between its bench markers.

With --model cnn (benchmarks/cnn_step.py) it times the step of the default CNN and of the models
table's regularised CNN (batch norm, dropout) over the batch sizes against the ceiling of their
matrix products (im2col's, and the fully connected layers'), and, at the default batch size,
where each NumPy step's time goes, layer by layer; writes
learning_curves/bench-cnn.csv and bench-cnn-layers.csv and the README between its bench-cnn
markers.

With --kaggle-csv (benchmarks/kaggle_csv.py) it times instead datasets.kaggle.read_csv (read and
check) against a bare pandas.read_csv of the same 42,000-row train.csv, made from MNIST in a
temporary folder, the two taking turns; writes learning_curves/bench-csv.csv and docs/data.md
between its bench-csv markers.
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks import cnn_step, kaggle_csv, mlp_step
from cli.run import ERRORS, fail
from nets.threads import thread_count
from storage.atomic import FileError, check_markers, check_writable
from storage.paths import DOCS, LEARNING_CURVES, README
from training import models
from training.config import MODELS, OPTIMIZERS, Config
from twins import load_twin


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--model", default="mlp", choices=MODELS,
                        help="cnn: the default and the regularised CNN over --batches "
                             "(--widths unused)")
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512, 1024, 2048])
    parser.add_argument("--batches", type=int, nargs="+",
                        help="batch sizes (default 32 128 512 1024; --model cnn 32 64 128 256 "
                             "512)")
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    parser.add_argument("--repeats", type=int, default=25, help="timed steps per point")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=thread_count, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", default=str(LEARNING_CURVES))
    parser.add_argument("--readme", help="the page to update (default README.md; with "
                                         "--kaggle-csv docs/data.md)")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--kaggle-csv", action="store_true",
                        help="time reading and checking Kaggle's train.csv instead")
    parser.add_argument("--data-dir", help="MNIST's folder, for --kaggle-csv")
    args = parser.parse_args(argv)
    if args.readme is None:
        args.readme = str(DOCS / "data.md" if args.kaggle_csv else README)
    if args.batches is None:
        args.batches = [32, 64, 128, 256, 512] if args.model == "cnn" else [32, 128, 512, 1024]
    for name in ("widths", "batches", "repeats", "threads"):
        values = getattr(args, name)
        if min(values if isinstance(values, list) else [values]) < 1:
            parser.error(f"--{name} must be positive")
    args.out = Path(args.out)
    benchmark = kaggle_csv if args.kaggle_csv else cnn_step if args.model == "cnn" else mlp_step
    try:                                          # before the benchmark, not after
        args.out.mkdir(parents=True, exist_ok=True)
        check_writable(args.out / "bench.csv")
        if not args.no_readme:
            check_markers(args.readme, *benchmark.MARKERS)
    except OSError as e:
        parser.error(f"--out {args.out}: {e.strerror}")
    except FileError as e:
        parser.error(f"{getattr(e, 'strerror', None) or e}")
    return args


def check_memory(args):
    """ModelError, before any step, if a network of the grid at its largest batch would not
    fit in memory (as training it would be refused)."""
    nets = cnn_step.networks().values() if args.model == "cnn" else \
        [Config.for_run("mnist", "mlp", hidden=(w,)) for w in args.widths]
    for cfg in nets:
        models.check_memory(replace(cfg, batch_size=max(args.batches)))


def main(argv=None):
    args = parse(argv)
    try:
        if args.kaggle_csv:
            return kaggle_csv.run(args)
        check_memory(args)
        twins = {name: load_twin(name, args.device, args.threads) for name in ("numpy", "torch")}
        return (cnn_step if args.model == "cnn" else mlp_step).run(args, twins)
    except ERRORS as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted: nothing written", 130)


if __name__ == "__main__":
    sys.exit(main())
