"""One training step of both MLP twins (forward, backward, Adam) over widths and batch sizes,
against the ceiling of the same matrix products alone, as plain float32 products in NumPy and in
torch. A step of a one-hidden-layer MLP is three products for the output layer and two for the
first (the gradient of the pixels is never needed): 2B(2·784·H + 3·H·10) flops. Writes
bench.csv, bench.png and the README between its bench markers (`python bench.py`)."""
import os
from pathlib import Path

import numpy as np
import pandas as pd

import mlp_np
from benchmarks.timing import median_seconds, sync_for, twin_steps, with_rates
from report.figures import save_figure
from report.machine import machine_line
from storage.atomic import replace_between, write_text

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
MARKERS = (START, END)


def step_flops(sizes, batch):
    """Flops of one step: forward, weight gradients, and input gradients of all but layer 1."""
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(products) + sum(products[1:]))


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


def bench_point(width, batch, args, twins):
    sizes = (784, width, 10)
    params = mlp_np.init_params(sizes, 0, "float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    row = dict(width=width, batch=batch, gflop=step_flops(sizes, batch) / 1e9)
    steps = twin_steps(twins, lambda twin: twin.build(params), x, y, args.optimizer)
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


def section(results, machine, args, images):
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


def run(args, twins):
    """The grid of widths x batch sizes: bench.csv, bench.png, the README's bench section."""
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
    write_text(args.out / "bench.csv", results.to_csv(index=False))
    plot(results, args.out, args.device)
    images = os.path.relpath(args.out.resolve(), Path(args.readme).resolve().parent)
    text = section(results, machine_line(args.device, args.threads), args, images)
    if not args.no_readme:
        changed = replace_between(args.readme, START, END, text)
        print(f"{args.readme}: section {'rewritten' if changed else 'unchanged'}")
    print(f"wrote bench.csv and bench.png in {args.out}")
    return 0
