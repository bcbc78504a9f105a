"""One training step of both CNN twins (the default CNN, and the models table's regularised
CNN: batch norm and dropout) over batch sizes, against the ceiling of its matrix products
(im2col's, and the fully connected layers'); and, at the default batch size, where each NumPy
step's time goes, hand-written layer by layer. Writes bench-cnn.csv, bench-cnn-layers.csv and
the README between its bench-cnn markers (`python bench.py --model cnn`)."""
import threading
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from benchmarks.timing import median_seconds, step_masks, sync_for, twin_steps, with_rates
from datasets.catalog import DATASETS
from nets import cnn_np, dense_np
from nets.layers_np import ACTIVATIONS
from report.machine import machine_line
from storage.atomic import replace_between, write_text
from training import models
from training.config import Config
from training.defaults import MODEL_RUNS
from twins import load_twin

CNN_START, CNN_END = "<!-- bench-cnn:start -->", "<!-- bench-cnn:end -->"
MARKERS = (CNN_START, CNN_END)


def cnn_products(cfg, batch):
    """[(m, k, n)] of the NumPy CNN step's matrix products at `batch`: per convolution, the
    forward (C_out, C_in k^2) @ (C_in k^2, H' W' B), the kernel gradient, and (but for the first)
    the columns' gradient; per fully connected layer, forward, weight and input gradients."""
    products, c_in = [], 1
    for j, ((c_out, H, W), pooled) in enumerate(models.arch(cfg).conv_shapes(cfg.channels,
                                                                              cfg.kernel)):
        n, depth = H * W * batch, c_in * cfg.kernel ** 2
        products += [(c_out, depth, n), (depth, n, c_out)] + ([(depth, c_out, n)] if j else [])
        c_in, flat = c_out, int(np.prod(pooled))
    sizes = (flat, *cfg.hidden, DATASETS[cfg.dataset].n_classes)
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


def networks():
    """{name: config} of the CNNs timed: the default, and the models table's regularised CNN
    (its augmentation left out: it prepares batches, it is not part of a step)."""
    name, changes = MODEL_RUNS["cnn-regularised"]
    default = Config.for_run("mnist", "cnn")
    return {"CNN": default, name: replace(default, **{**changes, "augment": False})}


def cnn_point(cfg, batch, args, twins):
    params = models.init_params(cfg, 0, "float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, int(np.prod(models.arch(cfg).image))), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    steps = twin_steps(twins, lambda twin: models.build(twin, cfg, params), x, y,
                       args.optimizer)
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


# The hand-written layers a CNN step calls, and where it finds them: the convolutions' names in
# nets/cnn_np.py, the fully connected head's in nets/dense_np.py (whose normalise gives every
# batch norm its forward), the activations in the table.
LAYER_FUNCTIONS = {cnn_np: ("conv2d_forward", "maxpool2d_forward", "flatten_forward",
                            "flatten_backward", "maxpool2d_backward", "conv2d_backward",
                            "batchnorm_backward", "dropout_forward", "dropout_backward"),
                   dense_np: ("linear_forward", "linear_backward", "batchnorm_forward",
                              "batchnorm_backward", "dropout_forward", "dropout_backward")}


def layer_times(cfg, batch, repeats, threads):
    """Where the NumPy CNN's step goes: [{layer, ms}] median per call of each hand-written layer
    the step calls, in the order it calls them, and the rest of the step (the loss, Adam), on
    `threads` threads (the grid's: loading a twin sets the whole process's thread count)."""
    twin = load_twin("numpy", "cpu", threads)
    model = models.build(twin, cfg, models.init_params(cfg, 0, "float32"))
    rng = np.random.default_rng(0)
    x = rng.random((batch, int(np.prod(model.arch.image))), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    opt = twin.optimizer(model, "adam", 1e-4)
    calls = []                               # (function name, seconds) in the order of calls
    originals = [(module, name, getattr(module, name))
                 for module, names in LAYER_FUNCTIONS.items() for name in names]
    activation = ACTIVATIONS[cfg.activation]
    def timed(name, fn):
        def call(*a, **kw):
            start = time.perf_counter()
            out = fn(*a, **kw)
            # a layer split across the threads (its channels, nets/threads.py): the calling
            # thread's block stands for all, which run at the same time
            if threading.current_thread() is threading.main_thread():
                calls.append((name, time.perf_counter() - start))
            return out
        return call
    masks = step_masks(twin, model, batch)
    steps = []
    try:
        for module, name, fn in originals:
            setattr(module, name, timed(name, fn))
        ACTIVATIONS[cfg.activation] = tuple(timed(f"{cfg.activation}_{direction}", fn)
                                            for direction, fn in zip(("forward", "backward"),
                                                                     activation))
        for i in range(repeats + 5):
            calls.clear()
            start = time.perf_counter()
            twin.train_step(model, x, y, opt, masks=masks)
            if i >= 5:                       # after warm-up
                steps.append((time.perf_counter() - start, list(calls)))
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
        ACTIVATIONS[cfg.activation] = activation
    return layer_rows(steps)


def layer_rows(steps):
    """[(step seconds, [(function, seconds)])] -> (a row per call: its median ms, numbered per
    function from the input, and the rest of the step; the median step in ms)."""
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


def run(args, twins):
    """Each CNN of networks() over the batch sizes: bench-cnn.csv, bench-cnn-layers.csv, the
    README's bench-cnn section."""
    rows, layers, step_ms = [], [], {}
    for network, cfg in networks().items():
        for batch in args.batches:
            rows.append(dict(network=network, **cnn_point(cfg, batch, args, twins)))
            print(f"{network}, batch {batch:>5}: NumPy {rows[-1]['numpy_ms']:7.2f} ms  PyTorch "
                  f"{rows[-1]['torch_ms']:7.2f} ms  ratio {rows[-1]['numpy_over_torch']:.2f}  "
                  f"matmul share {rows[-1]['numpy_share_of_ceiling']:.0%}", flush=True)
        calls, step_ms[network] = layer_times(cfg, cfg.batch_size, args.repeats, args.threads)
        layers.append(calls.assign(network=network))
    results, layers = pd.DataFrame(rows), pd.concat(layers, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "bench-cnn.csv", results.to_csv(index=False))
    write_text(args.out / "bench-cnn-layers.csv", layers.to_csv(index=False))
    section = cnn_section(results, layers, step_ms, machine_line(args.device, args.threads),
                          args)
    if not args.no_readme:
        changed = replace_between(args.readme, CNN_START, CNN_END, section)
        print(f"{args.readme}: section {'rewritten' if changed else 'unchanged'}")
    print(f"median NumPy / PyTorch {results.numpy_over_torch.median():.2f}; "
          f"wrote bench-cnn.csv and bench-cnn-layers.csv in {args.out}")
    return 0


def layer_group(function, call):
    """The row of the README's breakdown a hand-written layer's call is counted in."""
    if call == 0:
        return function
    kind, direction = function.rsplit("_", 1)
    if kind == "conv2d":
        return f"convolution {call} {direction}"
    if kind == "maxpool2d":
        return f"max-pools {direction}"
    if kind == "batchnorm":
        return f"batch norms {direction}"
    if kind == "dropout":
        return "dropout"
    return "ReLU, flatten, fully connected layers"


def cnn_section(results, layers, step_ms, machine, args):
    """The README's bench-cnn section: the grid, and each network's step by hand-written layer."""
    r = results
    table = pd.DataFrame({
        "network": r.network, "batch": r.batch,
        "NumPy ms": r.numpy_ms.map("{:.2f}".format), "PyTorch ms": r.torch_ms.map("{:.2f}".format),
        "NumPy / PyTorch": r.numpy_over_torch.map("{:.2f}".format),
        "NumPy GFLOP/s": r.numpy_gflops.map("{:.1f}".format),
        "PyTorch GFLOP/s": r.torch_gflops.map("{:.1f}".format),
        "NumPy's matmuls alone ms": r.ceiling_numpy_ms.map("{:.2f}".format),
        "matmul share of the NumPy step": r.numpy_share_of_ceiling.map("{:.0%}".format)})
    ratio = r[r.network == "CNN"].numpy_over_torch.median()
    ratios = "; ".join(f"{name} {g.numpy_over_torch.median():.2f}"
                       for name, g in r.groupby("network", sort=False))
    cfgs = networks()
    described = "; ".join(models.describe(cfg) for cfg in cfgs.values())
    batch = next(iter(cfgs.values())).batch_size
    return "\n".join([
        CNN_START,
        f"Produced by `python bench.py --model cnn` ({described}; {args.optimizer}, float32, "
        f"{args.device}; medians of {args.repeats} timed steps after warm-up, taking turns in "
        f"blocks of 10) on: {machine}. GFLOP/s counts the NumPy step's matrix products (the "
        f"convolutions as im2col products). Median NumPy / PyTorch step-time ratio over the "
        f"grid: {ratios}; the CNN's **{ratio:.2f}** (target ≤ 1.5: "
        f"**{'met' if ratio <= 1.5 else 'missed'}**).",
        "",
        table.to_markdown(index=False),
        "",
        f"Where each NumPy step goes at batch {batch} (medians of each hand-written layer's call "
        f"as the step makes it, convolutions numbered from the input; every call in "
        f"`bench-cnn-layers.csv`):",
        "",
        breakdown(layers, step_ms).to_markdown(index=False),
        CNN_END])


def breakdown(layers, step_ms):
    """A row per part of the step (layer_group), a column pair (ms, share) per network."""
    columns = []
    for network, calls in layers.groupby("network", sort=False):
        part = [layer_group(f, c) for f, c in zip(calls.function, calls.call)]
        ms = calls.groupby(part, sort=False).ms.sum()
        columns.append(pd.DataFrame({
            f"{network} ms": ms.map("{:.2f}".format),
            f"{network} share": (ms / step_ms[network]).map("{:.0%}".format)}))
    parts = max((c.index for c in columns), key=len)       # the network with every part
    table = pd.concat(columns, axis=1).reindex(parts).fillna("")
    total = {c: f"{step_ms[c[:-3]]:.2f}" if c.endswith(" ms") else "100%" for c in table}
    table.loc["the whole step"] = total
    return table.rename_axis("part of the step").reset_index()
