"""The model the page shows when no --weights is given: the default MLP (main_np.py's defaults
on MNIST), trained once with the NumPy twin on the first start and kept in the data cache folder
as an ordinary weights file, which every later start reuses.

Trained the way main_np.py trains it (training.loop.train on training.models' network) and
written atomically once training has ended well (training.weights_file.save_weights): a run
stopped by Ctrl-C, diverged or failed leaves no file, so a half-trained model is never reused.
"""
import os
import sys
from pathlib import Path

from datasets.catalog import load as load_dataset
from storage.atomic import FileError
from storage.paths import CACHE_DIR
from training import diagnosis, loop, models, weights_file
from training.config import Config
from training.start import RunError
from twins import load_twin

DEFAULT_WEIGHTS = CACHE_DIR / "app" / "default-mlp-mnist.npz"


def default_config():
    """The config of `python main_np.py` without flags: the default MLP on MNIST."""
    return Config.for_run("mnist", "mlp")


def default_weights(path=DEFAULT_WEIGHTS, cfg=None, threads=None, log=print, progress=True):
    """The path of the default model's weights: the file kept at `path` when it holds the
    model `cfg` (default: default_config()) describes, else trained now and kept there."""
    path, cfg = Path(path), cfg or default_config()
    if path.is_file():
        stale = kept_differs(path, cfg)
        if not stale:
            return path
        log(f"{path}: {stale}; training the default model again")
    train(path, cfg, threads, log, progress)
    return path


def kept_differs(path, cfg):
    """Why the file at `path` is not the model cfg describes (one line), or "" if it is."""
    try:
        _, saved = weights_file.load_weights(path)
    except FileError as e:
        return f"unreadable ({e})"
    if saved.get("interrupted") or saved.get("twin") != "numpy":
        return "not a finished run of the NumPy twin"
    wanted, before = cfg.to_dict(), Config().to_dict()
    # a setting the file does not record came after it was written: it trained with its default
    changed = sorted(k for k in wanted if saved.get(k, before[k]) != wanted[k])
    return f"trained with other settings ({', '.join(changed)})" if changed else ""


def train(path, cfg, threads=None, log=print, progress=True):
    """Train cfg's model with the NumPy twin and keep it at `path`. KeyboardInterrupt (Ctrl-C)
    stops it and keeps nothing; RunError if it failed, training.loop.Diverged if the loss blew
    up, FileError if the file cannot be written, DataError if the data cannot be had."""
    dataset = load_dataset(cfg.dataset, None, cfg.dtype, cfg.val_size)
    if dataset.warning:
        print(dataset.warning, file=sys.stderr)
    twin = load_twin("numpy", "cpu", threads or len(os.sched_getaffinity(0)))
    model = models.build(twin, cfg, models.init_params(cfg))
    about = " (about a minute on 2 unloaded cores)" if cfg == default_config() else ""
    log(f"first start: training the default model, {models.describe(cfg)} on "
        f"{dataset.spec.title}, {cfg.epochs} epochs with the NumPy twin{about}; it is kept in "
        f"{path} for the next starts")
    history = loop.train(twin, model, dataset, cfg, "numpy", progress, log)
    if history["interrupted"]:
        raise KeyboardInterrupt
    kept = twin.export(model)
    failed = diagnosis.failure(history, dataset, cfg, kept,
                               models.arch(cfg) if cfg.model == "cnn" else None)
    if failed:
        raise RunError(failed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileError(f"cannot create {path.parent}: {e.strerror}")
    weights_file.save_weights(path, kept, dict(cfg.to_dict(), twin=twin.name,
                                               interrupted=False))
    held_out = history["held_out"]
    log(f"kept {path}: {held_out} accuracy {100 * history['epochs'][-1][f'{held_out}_acc']:.2f}%")
