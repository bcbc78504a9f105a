"""Both twins trained side by side: from the same initial weights, on the same batches, one
epoch of each in turn; their results rows, their step-by-step parity and their peak memory.
What compare.py runs; the README sections it writes are report/'s."""
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from training import loop, models
from training.discordance import discordant
from twins import load_twin

PARITY_STEPS = 200           # steps of the float64 parity run
# The hyperparameters each results row records, so that a README section can be rebuilt from the
# rows alone (compare.py --from-results).
CONFIG_COLUMNS = ("dataset", "dtype", "hidden", "batch_size", "epochs", "lr", "schedule",
                  "warmup", "optimizer", "momentum", "weight_decay", "label_smoothing", "ema",
                  "seed")


def run_lockstep(cfg, params, dataset, devices, threads, progress=True,
                 order=("numpy", "torch"), labels=None):
    """Both twins from `params`, one epoch of each in turn, so that both train under the same
    machine conditions (these machines' speed drifts over tens of seconds). devices: {twin name:
    device}. Returns the two final histories, NumPy's first, each with its test predictions and
    first layer's weights."""
    runs = {}
    for name in order:
        twin = load_twin(name, devices[name], threads)
        label = (labels or {}).get(name, f"{name}/{twin.device}")
        model = models.build(twin, cfg, params)
        runs[name] = (twin, model, loop.train_epochs(twin, model, dataset, cfg, label, progress))
    for epoch_histories in zip(*(epochs for _, _, epochs in runs.values())):
        histories = dict(zip(runs, epoch_histories))
    if any(h["interrupted"] for h in histories.values()):
        raise KeyboardInterrupt
    for name, history in histories.items():
        twin, model, _ = runs[name]
        weights = twin.export(model)
        history.update(twin=name, device=twin.device,
                       first_layer=weights.get("C1", weights["W1"]),
                       test_predictions=loop.predictions(twin, model, dataset.x_test))
    return histories["numpy"], histories["torch"]


def run_seeds(cfg, dataset, devices, threads, seeds, progress=True):
    """For each seed, both twins from the same weights in lockstep. Returns (results rows, the
    first seed's per-step losses of both twins, the first seed's histories)."""
    peak_mb = warm_up(cfg, dataset, devices, threads)
    rows, first_steps, curves = [], None, None
    for i, seed in enumerate(seeds):
        run_cfg = replace(cfg, seed=seed)
        params = models.init_params(run_cfg)
        order = ("numpy", "torch") if i % 2 == 0 else ("torch", "numpy")   # neither always first
        histories = run_lockstep(run_cfg, params, dataset, devices, threads, progress, order)
        for h in histories:
            h["peak_memory_mb"] = peak_mb[h["twin"]]
        steps = parity_frame(cfg.dtype, histories)
        # the test images exactly one twin gets right: how far chance alone parts them
        d = discordant(*(h["test_predictions"] == dataset.y_test for h in histories))
        rows += [results_row(h, run_cfg, len(dataset.y_train), steps.abs_diff.max(), d)
                 for h in histories]
        if first_steps is None:
            first_steps, curves = steps, histories
    return rows, first_steps, curves


def warm_up(cfg, dataset, devices, threads):
    """Untimed steps of each twin alone, at full size (20 batches, then an evaluation on the
    whole test set): neither pays for loading kernels, starting thread pools or first-touching
    the data inside its timed run. Each twin's peak memory is measured here, where it runs
    alone; in the lockstep runs both live in the process. Returns {twin: peak MiB}."""
    small = dataset.head(20 * cfg.batch_size)
    params = models.init_params(cfg, seed=0)
    peak_mb = {}
    for name, device in devices.items():
        twin = load_twin(name, device, threads)
        reset_peak_memory(device)
        loop.train(twin, models.build(twin, cfg, params), small, replace(cfg, epochs=1),
                   progress=False, log=lambda *a: None)
        peak_mb[name] = peak_memory_mb(name, device)
    return peak_mb


def parity_run(cfg, dataset, devices, threads, progress=True):
    """Both twins in float64 for PARITY_STEPS steps of the same config, on `dataset` (float64;
    its first PARITY_STEPS batches and 1,000 test images)."""
    f64 = replace(cfg, dtype="float64", epochs=1)
    dataset = dataset.head(PARITY_STEPS * cfg.batch_size, 1000)
    labels = {name: f"{name} float64 parity" for name in devices}
    return parity_frame("float64", run_lockstep(f64, models.init_params(f64), dataset, devices,
                                                threads, progress, labels=labels))


def parity_frame(dtype, histories):
    """Every step's loss of both twins and their absolute difference."""
    a, b = (np.array(h["step_losses"]) for h in histories)
    return pd.DataFrame(dict(dtype=dtype, step=np.arange(len(a)), loss_numpy=a, loss_torch=b,
                             abs_diff=np.abs(a - b)))


def results_row(history, cfg, n_train, max_diff, discordant_images):
    """One twin's row of results.csv: its config, accuracy, loss, times and memory; the seed's
    test images (test_images) and those exactly one twin gets right (discordant: the same in
    both twins' rows; training/discordance.py)."""
    last = history["epochs"][-1]
    reached_98 = loop.first_epoch_reaching(history, 0.98)
    config = {k: getattr(cfg, k) for k in CONFIG_COLUMNS}
    config["hidden"] = "-".join(map(str, cfg.hidden)) or "0"       # 0: no hidden layer
    return dict(implementation=history["twin"], device=history["device"], **config,
                model=cfg.model, loss=cfg.loss,
                test_acc=last["test_acc"], test_loss=last["test_loss"],
                train_seconds=history["train_seconds"],
                seconds_per_epoch=history["train_seconds"] / len(history["epochs"]),
                images_per_second=n_train * len(history["epochs"]) / history["train_seconds"],
                seconds_to_98=reached_98.get("train_seconds", np.nan),
                peak_memory_mb=history["peak_memory_mb"],
                max_step_loss_diff=max_diff,
                test_images=len(history["test_predictions"]), discordant=discordant_images)


def reset_peak_memory(device):
    if device == "cpu":
        try:
            Path("/proc/self/clear_refs").write_text("5")   # resets VmHWM (Linux >= 4.0)
        except OSError:
            pass
    else:
        import torch
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(twin_name, device):
    """Peak resident memory of the process (CPU) or peak GPU memory of the twin (CUDA), MiB."""
    if device == "cpu":
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    if twin_name == "torch":
        import torch
        return torch.cuda.max_memory_allocated() / 2**20
    import cupy
    return cupy.get_default_memory_pool().total_bytes() / 2**20
