"""Time one training step (forward, backward, update) of both twins, and the matmul ceiling.

For each hidden width and batch size: the median time of a full training step of the NumPy
twin and of the PyTorch twin (after warm-up), the GFLOP/s that makes, and in the same run the
machine's ceiling: the same matrix products alone, as plain float32 products in NumPy and in
torch. A step of a one-hidden-layer MLP is three products for the output layer and two for the
first (the gradient of the pixels is never needed): 2B(2·784·H + 3·H·10) flops.

Writes learning_curves/bench.csv and bench.png and the README between its bench markers.

    python bench.py [--widths 128 512 1024 2048] [--batches 32 128 512 1024] [--device cuda]
    python bench.py --model cnn [--batches 32 64 128 256 512]   # the default CNN (config.py)
    python bench.py --kaggle-csv    # reading and checking Kaggle's train.csv against pandas

With --model cnn it times the default CNN's step over the batch sizes against the ceiling of
its matrix products (im2col's, and the fully connected layers'), and, at the default batch
size, where the NumPy step's time goes, layer by layer; writes learning_curves/bench-cnn.csv
and bench-cnn-layers.csv and the README between its bench-cnn markers.

With --kaggle-csv it times instead data_kaggle.read_csv (read and check) against a bare
pandas.read_csv of the same 42,000-row train.csv, made from MNIST in a temporary folder, the
two taking turns; writes learning_curves/bench-csv.csv and the README between its bench-csv
markers.
"""
import cli  # first of all: it sets how OpenBLAS's threads idle, before NumPy loads

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import data
import files
from compare import ROOT, machine_line
from figures import save_figure
from mlp_np import init_params

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
CSV_START, CSV_END = "<!-- bench-csv:start -->", "<!-- bench-csv:end -->"
CNN_START, CNN_END = "<!-- bench-cnn:start -->", "<!-- bench-cnn:end -->"


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp", choices=cli.config.MODELS,
                        help="cnn: the default CNN of config.py over --batches (--widths unused)")
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512, 1024, 2048])
    parser.add_argument("--batches", type=int, nargs="+",
                        help="batch sizes (default 32 128 512 1024; --model cnn 32 64 128 256 "
                             "512)")
    parser.add_argument("--optimizer", default="adam", choices=cli.config.OPTIMIZERS)
    parser.add_argument("--repeats", type=int, default=25, help="timed steps per point")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", default=str(ROOT / "learning_curves"))
    parser.add_argument("--readme", help="the page to update (default README.md; with "
                                         "--kaggle-csv docs/data.md)")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--kaggle-csv", action="store_true",
                        help="time reading and checking Kaggle's train.csv instead")
    parser.add_argument("--data-dir", help="MNIST's folder, for --kaggle-csv")
    args = parser.parse_args(argv)
    if args.readme is None:
        args.readme = str(ROOT / "docs" / "data.md" if args.kaggle_csv else ROOT / "README.md")
    if args.batches is None:
        args.batches = [32, 64, 128, 256, 512] if args.model == "cnn" else [32, 128, 512, 1024]
    for name in ("widths", "batches", "repeats", "threads"):
        values = getattr(args, name)
        if min(values if isinstance(values, list) else [values]) < 1:
            parser.error(f"--{name} must be positive")
    args.out = Path(args.out)
    return args


def step_flops(sizes, batch):
    """Flops of one step: forward, weight gradients, and input gradients of all but layer 1."""
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(products) + sum(products[1:]))


def median_seconds(fns, sync, repeats, block=5, warmup=5):
    """{name: median seconds of fn()} for each of fns. They take turns in blocks: in each
    round every fn makes one untimed call (which absorbs the other library's threads going
    idle) and then `block` timed calls, so that the machine's drift hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times = {name: [] for name in fns}
    for _ in range(-(-repeats // block)):
        for name, fn in fns.items():
            fn()
            sync()
            for _ in range(block):
                start = time.perf_counter()
                fn()
                sync()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def matmuls(lib, x, weights, dlogits):
    """The NumPy step's matrix products alone (one column per image, as in mlp_np), in `lib`
    (numpy or torch) on the same arrays."""
    def run():
        h = x.T
        outs = []
        for W in weights:
            h = W @ h
            outs.append(h)
        d = dlogits.T
        for i in range(len(weights) - 1, -1, -1):
            inp = x.T if i == 0 else outs[i - 1]
            d @ inp.T
            if i:
                d = weights[i].T @ d
    return run


def sync_for(device):
    if device == "cpu":
        return lambda: None
    import torch
    return torch.cuda.synchronize


def twin_steps(twins, params, x, y, optimizer):
    """{twin name: fn() making one training step of that twin's network of `params` on (x, y)}."""
    steps = {}
    for name, (twin, build) in twins.items():
        model = build(params)
        xs, ys = model.asarray(x), model.asarray(y)
        opt = twin.make_optimizer(model, optimizer, 1e-4)
        steps[name] = lambda model=model, xs=xs, ys=ys, opt=opt: model.train_step(xs, ys, opt)
    return steps


def with_rates(row, seconds):
    """row (holding gflop) with each timed fn's ms and GFLOP/s, and the two ratios."""
    row.update({f"{name}_ms": 1e3 * s for name, s in seconds.items()})
    for key in ("numpy", "torch", "ceiling_numpy", "ceiling_torch"):
        row[f"{key}_gflops"] = row["gflop"] / row[f"{key}_ms"] * 1e3
    row["numpy_over_torch"] = row["numpy_ms"] / row["torch_ms"]
    row["numpy_share_of_ceiling"] = row["ceiling_numpy_ms"] / row["numpy_ms"]
    return row


def bench_point(width, batch, args, twins):
    sizes = (784, width, 10)
    params = init_params(sizes, 0, "float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    row = dict(width=width, batch=batch, gflop=step_flops(sizes, batch) / 1e9)
    steps = twin_steps(twins, params, x, y, args.optimizer)
    import torch
    weights = [params["W1"], params["W2"]]
    dlogits = rng.random((batch, 10), dtype=np.float32)
    to_t = lambda a: torch.from_numpy(a).to(args.device)
    steps["ceiling_numpy"] = matmuls(np, x, weights, dlogits)
    steps["ceiling_torch"] = matmuls(torch, to_t(x), [to_t(w) for w in weights], to_t(dlogits))
    seconds = median_seconds(steps, sync_for(args.device), args.repeats)
    return with_rates(row, seconds)


def plot(results, out, device):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    widths = sorted(results.width.unique())
    fig, axes = plt.subplots(1, len(widths), figsize=(3.2 * len(widths), 3.6), dpi=110,
                             sharey=True, squeeze=False)
    for ax, width in zip(axes[0], widths):
        r = results[results.width == width].sort_values("batch")
        ax.plot(r.batch, r.ceiling_numpy_gflops, "k:", label="matmuls alone (NumPy)")
        ax.plot(r.batch, r.numpy_gflops, "o-", color="tab:blue", label="NumPy twin step")
        ax.plot(r.batch, r.torch_gflops, "s--", color="tab:red", label="PyTorch twin step")
        ax.set(xscale="log", title=f"784-{width}-10", xlabel="batch size")
        ax.set_xticks(r.batch, [str(b) for b in r.batch])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"GFLOP/s ({device})")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("One training step (forward, backward, Adam update), float32")
    fig.tight_layout()
    save_figure(fig, out / "bench.png")


def readme_section(results, machine, args, images):
    r = results
    table = pd.DataFrame({
        "width": r.width, "batch": r.batch,
        "NumPy ms": r.numpy_ms.map("{:.2f}".format), "PyTorch ms": r.torch_ms.map("{:.2f}".format),
        "NumPy / PyTorch": r.numpy_over_torch.map("{:.2f}".format),
        "NumPy GFLOP/s": r.numpy_gflops.map("{:.0f}".format),
        "PyTorch GFLOP/s": r.torch_gflops.map("{:.0f}".format),
        "matmul ceiling GFLOP/s": r.ceiling_numpy_gflops.map("{:.0f}".format),
        "NumPy share of ceiling": r.numpy_share_of_ceiling.map("{:.0%}".format),
        "PyTorch's matmuls GFLOP/s": r.ceiling_torch_gflops.map("{:.0f}".format)})
    blas_ratio = (r.ceiling_numpy_ms / r.ceiling_torch_ms).median()
    return "\n".join([
        START,
        f"Produced by `python bench.py` ({args.optimizer}, float32, {args.device}; medians of "
        f"{args.repeats} timed calls after warm-up, the two steps and the two ceilings taking "
        f"turns in blocks of 5) on: {machine}. Ceiling: the same matrix products alone, as plain "
        f"NumPy products. Median NumPy / PyTorch step-time ratio over the grid: "
        f"{r.numpy_over_torch.median():.2f}; the same ratio for the matrix products alone "
        f"(NumPy's BLAS against torch's, the last column): {blas_ratio:.2f}.",
        "",
        table.to_markdown(index=False),
        "",
        f"![bench]({images}/bench.png)",
        END])


# --- the CNN ---------------------------------------------------------------------------------

def cnn_products(cfg, batch):
    """[(m, k, n)] of the NumPy CNN step's matrix products at `batch`: per convolution, the
    forward (C_out, C_in k^2) @ (C_in k^2, H' W' B), the kernel gradient, and (but for the first)
    the columns' gradient; per fully connected layer, forward, weight and input gradients."""
    import models
    shapes = models.arch(cfg).feature_shapes(cfg.channels, cfg.kernel)
    image, products, c_in = models.arch(cfg).image, [], 1
    H, W = image
    for j, (c_out, p, s) in enumerate(zip(cfg.channels, cfg.padding, cfg.stride)):
        H, W = (H + 2 * p - cfg.kernel) // s + 1, (W + 2 * p - cfg.kernel) // s + 1
        n, depth = H * W * batch, c_in * cfg.kernel ** 2
        products += [(c_out, depth, n), (depth, n, c_out)] + ([(depth, c_out, n)] if j else [])
        H, W, c_in = shapes[j][1], shapes[j][2], c_out
    sizes = (c_in * H * W, *cfg.hidden, data.DATASETS[cfg.dataset].n_classes)
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        products += [(n_out, n_in, batch), (n_out, batch, n_in), (n_in, n_out, batch)]
    return products


def products_alone(lib, products, dtype, to=lambda a: a):
    """fn() computing the products [(m, k, n)] on random float32 arrays in `lib`."""
    rng = np.random.default_rng(0)
    pairs = [(to(rng.random((m, k), dtype=dtype)), to(rng.random((k, n), dtype=dtype)))
             for m, k, n in products]
    def run():
        for a, b in pairs:
            a @ b
    return run


def cnn_point(cfg, batch, args, twins):
    import models
    params = models.init_params(cfg, 0, "float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, int(np.prod(models.arch(cfg).image))), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    steps = twin_steps(twins, params, x, y, args.optimizer)
    import torch
    products = cnn_products(cfg, batch)
    steps["ceiling_numpy"] = products_alone(np, products, np.float32)
    steps["ceiling_torch"] = products_alone(
        torch, products, np.float32, lambda a: torch.from_numpy(a).to(args.device))
    # Blocks of 10 steps, as in training: a step right after the other twin's starts with
    # caches full of the other's 20-40 MB of arrays, which flatters neither (torch's 16 ms
    # step took 24 ms in blocks of 5).
    seconds = median_seconds(steps, sync_for(args.device), args.repeats, block=10)
    row = dict(batch=batch, gflop=sum(2 * m * k * n for m, k, n in products) / 1e9)
    return with_rates(row, seconds)


LAYER_FUNCTIONS = ("conv2d_forward", "maxpool2d_forward", "relu_forward", "flatten_forward",
                   "linear_forward", "linear_backward", "relu_backward", "flatten_backward",
                   "maxpool2d_backward", "conv2d_backward")


def layer_times(cfg, batch, repeats):
    """Where the NumPy CNN's step goes: [{layer, ms}] median per call of each layers_np function
    the step calls, in the order it calls them, and the rest of the step (the loss, Adam)."""
    import cnn_np
    import mlp_np
    import models
    model = models.builder("numpy", cfg, np)(models.init_params(cfg, 0, "float32"))
    rng = np.random.default_rng(0)
    x = rng.random((batch, int(np.prod(model.arch.image))), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    opt = mlp_np.make_optimizer(model, "adam", 1e-4)
    calls = []                               # (function name, seconds) in the order of calls
    originals = {name: getattr(cnn_np, name) for name in LAYER_FUNCTIONS}
    def timed(name, fn):
        def call(*a, **kw):
            start = time.perf_counter()
            out = fn(*a, **kw)
            calls.append((name, time.perf_counter() - start))
            return out
        return call
    steps = []
    try:
        for name, fn in originals.items():
            setattr(cnn_np, name, timed(name, fn))
        for i in range(repeats + 5):
            calls.clear()
            start = time.perf_counter()
            model.train_step(x, y, opt)
            if i >= 5:                       # after warm-up
                steps.append((time.perf_counter() - start, list(calls)))
    finally:
        for name, fn in originals.items():
            setattr(cnn_np, name, fn)
    counts, rows = {}, []
    for k, (name, _) in enumerate(steps[0][1]):
        counts[name] = counts.get(name, 0) + 1
        rows.append(dict(function=name, call=counts[name],
                         ms=1e3 * float(np.median([s[1][k][1] for s in steps]))))
    for r in rows:                           # backward calls numbered from the input too
        if "backward" in r["function"]:
            r["call"] = counts[r["function"]] + 1 - r["call"]
    step_ms = 1e3 * float(np.median([s[0] for s in steps]))
    rows.append(dict(function="the rest: loss, Adam, Python", call=0,
                     ms=step_ms - sum(r["ms"] for r in rows)))
    return pd.DataFrame(rows), step_ms


def bench_cnn(args):
    cfg = cli.config.Config.for_run("mnist", "cnn")
    twins = {}
    for name in ("numpy", "torch"):
        twin, build, _ = cli.load_twin(name, args.device, args.threads, cfg)
        twins[name] = (twin, build)
    rows = []
    for batch in args.batches:
        rows.append(cnn_point(cfg, batch, args, twins))
        print(f"batch {batch:>5}: NumPy {rows[-1]['numpy_ms']:7.2f} ms  PyTorch "
              f"{rows[-1]['torch_ms']:7.2f} ms  ratio {rows[-1]['numpy_over_torch']:.2f}  "
              f"matmul share {rows[-1]['numpy_share_of_ceiling']:.0%}", flush=True)
    results = pd.DataFrame(rows)
    layers, step_ms = layer_times(cfg, cfg.batch_size, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    files.write_text(args.out / "bench-cnn.csv", results.to_csv(index=False))
    files.write_text(args.out / "bench-cnn-layers.csv", layers.to_csv(index=False))
    machine = machine_line(argparse.Namespace(device=args.device, threads=args.threads))
    section = cnn_section(results, layers, step_ms, cfg, machine, args)
    if not args.no_readme:
        files.replace_between(args.readme, CNN_START, CNN_END, section)
    print(f"median NumPy / PyTorch {results.numpy_over_torch.median():.2f}; "
          f"wrote bench-cnn.csv and bench-cnn-layers.csv in {args.out}")
    return 0


def layer_group(function, call):
    """The row of the README's breakdown a layers_np call is counted in."""
    if call == 0:
        return function
    kind, direction = function.rsplit("_", 1)
    if kind == "conv2d":
        return f"convolution {call} {direction}"
    if kind == "maxpool2d":
        return f"max-pools {direction}"
    return "ReLU, flatten, fully connected layers"


def cnn_section(results, layers, step_ms, cfg, machine, args):
    import models
    r = results
    table = pd.DataFrame({
        "batch": r.batch,
        "NumPy ms": r.numpy_ms.map("{:.2f}".format), "PyTorch ms": r.torch_ms.map("{:.2f}".format),
        "NumPy / PyTorch": r.numpy_over_torch.map("{:.2f}".format),
        "NumPy GFLOP/s": r.numpy_gflops.map("{:.1f}".format),
        "PyTorch GFLOP/s": r.torch_gflops.map("{:.1f}".format),
        "NumPy's matmuls alone ms": r.ceiling_numpy_ms.map("{:.2f}".format),
        "matmul share of the NumPy step": r.numpy_share_of_ceiling.map("{:.0%}".format)})
    ratio = r.numpy_over_torch.median()
    grouped = layers.assign(part=[layer_group(f, c) for f, c in
                                  zip(layers.function, layers.call)])
    grouped = grouped.groupby("part", sort=False).ms.sum()
    by_layer = pd.DataFrame({"part of the step": grouped.index,
                             "ms": grouped.map("{:.2f}".format),
                             "share": (grouped / step_ms).map("{:.0%}".format)})
    return "\n".join([
        CNN_START,
        f"Produced by `python bench.py --model cnn` ({models.describe(cfg)}, {args.optimizer}, "
        f"float32, {args.device}; medians of {args.repeats} timed steps after warm-up, taking "
        f"turns in blocks of 10) on: {machine}. GFLOP/s counts the NumPy step's matrix products "
        f"(the convolutions as im2col products). Median NumPy / PyTorch step-time ratio over "
        f"the grid: **{ratio:.2f}** (target ≤ 1.5: **{'met' if ratio <= 1.5 else 'missed'}**).",
        "",
        table.to_markdown(index=False),
        "",
        f"Where the NumPy step goes at batch {cfg.batch_size} ({step_ms:.1f} ms in all; "
        f"medians of each layers_np call as the step makes it, convolutions numbered from the "
        f"input; every call in `bench-cnn-layers.csv`):",
        "",
        by_layer.to_markdown(index=False),
        CNN_END])


def bench_kaggle_csv(args):
    """Median seconds of data_kaggle.read_csv and of a bare pandas.read_csv on train.csv."""
    import tempfile
    import pandas
    import data_kaggle
    with tempfile.TemporaryDirectory() as folder:
        data_kaggle.from_mnist(folder, args.data_dir)
        path = Path(folder) / "train.csv"
        fns = {"pandas_read_csv": lambda: pandas.read_csv(path),
               "read_and_check": lambda: data_kaggle.read_csv(path, labelled=True)}
        seconds = median_seconds(fns, lambda: None, args.repeats, block=1, warmup=1)
        rows = len(data_kaggle.read_csv(path, labelled=True)[1])
    ratio = seconds["read_and_check"] / seconds["pandas_read_csv"]
    results = pd.DataFrame([dict(rows=rows, repeats=args.repeats, **seconds,
                                 read_and_check_over_pandas=ratio)])
    args.out.mkdir(parents=True, exist_ok=True)
    files.write_text(args.out / "bench-csv.csv", results.to_csv(index=False))
    machine = machine_line(argparse.Namespace(device="cpu", threads=args.threads))
    section = "\n".join([
        CSV_START,
        f"Produced by `python bench.py --kaggle-csv` on: {machine}. A {rows:,}-row train.csv "
        f"in Kaggle's format (made from MNIST), medians of {args.repeats} calls each, the two "
        f"taking turns: a bare `pandas.read_csv` {seconds['pandas_read_csv']:.2f} s; "
        f"`data_kaggle.read_csv`, which reads and checks it, "
        f"{seconds['read_and_check']:.2f} s: **{ratio:.2f}x** (target ≤ 1.5x: "
        f"**{'met' if ratio <= 1.5 else 'missed'}**).",
        CSV_END])
    print(section.splitlines()[1])
    if not args.no_readme:
        files.replace_between(args.readme, CSV_START, CSV_END, section)
    return 0


def main(argv=None):
    args = parse(argv)
    if args.kaggle_csv:
        try:
            return bench_kaggle_csv(args)
        except (data.DataError, files.FileError) as e:
            return cli.fail(str(e))
    if args.model == "cnn":
        try:
            return bench_cnn(args)
        except (cli.RunError, files.FileError) as e:
            return cli.fail(str(e))
        except KeyboardInterrupt:
            return cli.fail("interrupted: nothing written", 130)
    try:
        twins = {}
        for name in ("numpy", "torch"):
            twin, build, _ = cli.load_twin(name, args.device, args.threads)
            twins[name] = (twin, build)
        rows = []
        for width in args.widths:
            for batch in args.batches:
                rows.append(bench_point(width, batch, args, twins))
                print(f"784-{width}-10 batch {batch:>5}: NumPy {rows[-1]['numpy_ms']:7.2f} ms  "
                      f"PyTorch {rows[-1]['torch_ms']:7.2f} ms  ratio "
                      f"{rows[-1]['numpy_over_torch']:.2f}  ceiling share "
                      f"{rows[-1]['numpy_share_of_ceiling']:.0%}", flush=True)
        results = pd.DataFrame(rows)
        args.out.mkdir(parents=True, exist_ok=True)
        files.write_text(args.out / "bench.csv", results.to_csv(index=False))
        plot(results, args.out, args.device)
        machine_args = argparse.Namespace(device=args.device, threads=args.threads)
        images = os.path.relpath(args.out.resolve(), Path(args.readme).resolve().parent)
        section = readme_section(results, machine_line(machine_args), args, images)
        if not args.no_readme:
            files.replace_between(args.readme, START, END, section)
        print(f"wrote bench.csv and bench.png in {args.out}")
        return 0
    except (cli.RunError, files.FileError) as e:
        return cli.fail(str(e))
    except KeyboardInterrupt:
        return cli.fail("interrupted: nothing written", 130)


if __name__ == "__main__":
    sys.exit(main())
