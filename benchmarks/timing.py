"""How the benchmarks time: functions taking turns in blocks, medians, GFLOP/s."""
import time

import numpy as np

from datasets.catalog import dropout_masks


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


def sync_for(device):
    """fn() that waits for the device's queued work (nothing to wait for on the CPU)."""
    if device == "cpu":
        return lambda: None
    import torch
    return torch.cuda.synchronize


def twin_steps(twins, build, x, y, optimizer):
    """{twin name: fn() making one training step of that twin's network on (x, y)}.
    twins: {name: twin}; build(twin) -> the network."""
    steps = {}
    for name, twin in twins.items():
        model = build(twin)
        xs, ys = twin.asarray(x), twin.asarray(y)
        opt = twin.optimizer(model, optimizer, 1e-4)
        masks = step_masks(twin, model, len(x))
        steps[name] = lambda twin=twin, model=model, xs=xs, ys=ys, opt=opt, masks=masks: \
            twin.train_step(model, xs, ys, opt, masks=masks)
    return steps


def step_masks(twin, model, batch):
    """The dropout masks of a training step of `model` (as training.loop draws them: seed 0,
    epoch 1, step 0), on the twin's device; None without dropout."""
    if not getattr(model, "dropout", 0.0):
        return None
    return [twin.asarray(m) for m in dropout_masks(model.dropout_widths, batch, model.dropout,
                                                   0, 1, 0)]


def with_rates(row, seconds):
    """row (holding gflop) with each timed fn's ms and GFLOP/s, and the two ratios."""
    row.update({f"{name}_ms": 1e3 * s for name, s in seconds.items()})
    for key in ("numpy", "torch", "ceiling_numpy", "ceiling_torch"):
        row[f"{key}_gflops"] = row["gflop"] / row[f"{key}_ms"] * 1e3
    row["numpy_over_torch"] = row["numpy_ms"] / row["torch_ms"]
    row["numpy_share_of_ceiling"] = row["ceiling_numpy_ms"] / row["numpy_ms"]
    return row
