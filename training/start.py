"""Where a run starts: He-initialised weights, the weights of a --load file (whose structure
decides the model), or the checkpoint of a --resume file (whose hyperparameters decide all)."""
import sys
from dataclasses import replace

from datasets.catalog import DATASETS
from nets.shapes import cast, count_layers
from training import file_checks, models, weights_file
from training.config import Config


class RunError(Exception):
    """A problem to report in one line and exit 1."""


def initial_params(cfg, load_path, decide_loss=False):
    """(weights to start from, cfg): He init, or the --load file, whose weights and recorded
    structure decide the model, its widths and (a CNN's) convolutions, and with decide_loss its
    loss too. A file trained on another data set of the same shapes is used, with a one-line
    warning on stderr."""
    if not load_path:
        try:
            return models.init_params(cfg), cfg
        except ValueError as e:
            raise RunError(str(e))
    params, saved = weights_file.load_weights(load_path)
    warning = weights_file.check_fits(load_path, params, saved, DATASETS[cfg.dataset])
    if warning:
        print(warning, file=sys.stderr)
    params = cast(params, cfg.dtype)
    decided = structure_of(params, saved)
    if decide_loss and saved.get("loss"):
        decided["loss"] = saved["loss"]
    return params, Config(**{**cfg.to_dict(), **decided})


def model_of(params):
    """The model a weights file's params are: "cnn" where it has kernels, else "mlp"."""
    return "cnn" if count_layers(params)[0] else "mlp"


def structure_of(params, saved):
    """The Config fields that a weights file decides: the model, its hidden widths, batch norm
    (its keys), the activation (its config; ReLU for older files), and a CNN's channels,
    kernel, padding, stride and pool (the last three recorded in its config)."""
    n_convs, n_layers = count_layers(params)
    structure = dict(hidden=tuple(params[f"W{i}"].shape[0] for i in range(1, n_layers)),
                     model=model_of(params),
                     batch_norm=any(k.endswith("_running_mean") for k in params),
                     activation=saved.get("activation", "relu"))
    if n_convs:
        structure.update(channels=tuple(params[f"C{j}"].shape[0] for j in range(1, n_convs + 1)),
                         kernel=params["C1"].shape[-1],
                         **{k: tuple(saved[k]) for k in ("padding", "stride")}, pool=saved["pool"])
    return structure


def resumed(path, epochs=None):
    """(trained weights, Config, checkpoint) of the run saved in `path`, to go on to `epochs`
    epochs (None: the run's own). FileError if the file's config is not a run the flags could
    ask for, contradicts its weights or its optimizer state (file_checks.check_resumable);
    RunError if there is nothing left to train."""
    checkpoint, saved = weights_file.load_checkpoint(path)
    fields = Config().to_dict()
    cfg = Config(**{k: v for k, v in saved.items() if k in fields})
    file_checks.check_resumable(path, cfg, checkpoint, structure_of(checkpoint["weights"], saved))
    if epochs is not None and epochs < cfg.epochs:
        raise RunError(f"--epochs {epochs} is below the {cfg.epochs} epochs of the run saved "
                       f"in {path}; --resume can only raise the total")
    cfg = replace(cfg, epochs=epochs or cfg.epochs)
    return cast(checkpoint["weights"], cfg.dtype), cfg, checkpoint
