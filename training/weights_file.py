"""The weights file both twins write and read, which is also a checkpoint to resume from.

Weights are one .npz format for both twins: the arrays W1, b1, ..., WL, bL of the weights
contract (W_i as (n_out, n_in)), a CNN's kernels C1, c1, ..., Cn, cn before them, plus
`config`, the JSON of the Config that produced them (its `dataset` says which data set's inputs
and classes the weights take and give; a CNN's, its padding, stride and pooling). The layout of
a checkpoint is in docs/weights.md. Every file is written atomically (storage/atomic.py).
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from datasets.catalog import DATASETS
from nets.shapes import Arch, bn_names, count_layers, is_buffer
from storage.atomic import FileError, atomic_write
from training.file_checks import check_config, check_record


# A checkpoint's arrays, "<kind>.<weight name>" beside the weights: the trained weights where the
# weights kept are their average; the average as it last moved, where that is not the weights
# kept (training.loop.Run.average_now); then the optimizer's state under torch's names.
STATE_KINDS = ("trained", "average", "exp_avg", "exp_avg_sq", "momentum_buffer")


def save_weights(path, params, config=None, checkpoint=None):
    """params {"W1": (h1, n_inputs), ...} (+ the config dict) -> .npz at `path`, atomically.
    With a checkpoint (training.loop.Run.checkpoint), the file also resumes the run
    (load_checkpoint)."""
    arrays = dict(params)
    if checkpoint:
        average = checkpoint["average"]
        if average is not None:                          # params is the average, up to date
            arrays.update({f"trained.{k}": a for k, a in checkpoint["weights"].items()})
            if any(not np.array_equal(average[k], params[k]) for k in params):
                arrays.update({f"average.{k}": a for k, a in average.items()})
        for kind, by_name in checkpoint["optimizer"].items():
            if kind != "step":
                arrays.update({f"{kind}.{k}": a for k, a in by_name.items()})
        arrays["checkpoint"] = np.array(json.dumps(dict(
            step=checkpoint["step"], optimizer_step=checkpoint["optimizer"].get("step"),
            history=checkpoint["history"])))
    for name, a in arrays.items():
        if name != "checkpoint" and not np.all(np.isfinite(a)):
            raise FileError(f"refusing to save {path}: {name} holds NaN or inf")
    arrays["config"] = np.array(json.dumps(config or {}))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path):
    """A weights file saved with a checkpoint -> (checkpoint as training.loop.Run.checkpoint
    makes it, config dict). FileError if the file holds weights alone."""
    params, config, state = _read_weights(path)
    if "checkpoint" not in state:
        raise FileError(f"{path} holds weights but no checkpoint to resume (it was saved "
                        f"before checkpoints existed); start from it with --load instead")
    try:
        saved = json.loads(str(state.pop("checkpoint")))
    except ValueError as e:
        raise FileError(f"{path}: its checkpoint record is unreadable ({e})")
    check_record(path, saved)
    by_kind = {}
    for key, a in state.items():
        kind, name = key.split(".", 1)
        if kind not in STATE_KINDS or name not in params or a.shape != params[name].shape:
            raise FileError(f"{path}: {key} is not part of a checkpoint of these weights")
        by_kind.setdefault(kind, {})[name] = a
    for kind, by_name in by_kind.items():
        wanted = set(params) if kind in ("trained", "average") else \
            {k for k in params if not is_buffer(k)}
        if set(by_name) != wanted:
            raise FileError(f"{path}: the checkpoint's {kind} lacks "
                            f"{', '.join(sorted(wanted - set(by_name)))}")
    trained, average = by_kind.pop("trained", None), by_kind.pop("average", None)
    optimizer = dict(by_kind, **({"step": saved["optimizer_step"]}
                                 if saved.get("optimizer_step") is not None else {}))
    return dict(step=saved["step"], weights=trained if trained else params,
                optimizer=optimizer, average=(average or params) if trained else None,
                history=saved["history"]), config


def load_weights(path):
    """.npz -> (params dict, config dict). FileError names what is wrong with the file.

    An MLP's keys are W1, b1, ..., WL, bL; a CNN's are C1, c1, ..., Cn, cn before them, and its
    config must record the structure its weights do not (padding, stride, pool)."""
    return _read_weights(path)[:2]


def _read_weights(path):
    """(weights, config, the checkpoint's arrays and JSON) of a weights file, the weights and
    every field the config records checked (file_checks.check_config)."""
    path = Path(path)
    if not path.is_file():
        raise FileError(f"weights file {path} "
                        f"{'is a folder' if path.is_dir() else 'does not exist'}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        config = json.loads(str(arrays.pop("config"))) if "config" in arrays else {}
        state = {k: arrays.pop(k) for k in list(arrays) if "." in k or k == "checkpoint"}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise FileError(f"{path} is not a readable .npz weights file ({e})")
    check_config(path, config)
    n_convs, n_layers = count_layers(arrays)
    if n_layers == 0:
        raise FileError(f"{path} holds no weights (keys W1, b1, ... expected)")
    check_keys(path, arrays, n_convs, n_layers)
    spec = DATASETS.get(trained_on(config))
    n_in = spec.n_inputs if spec else arrays["W1"].shape[-1]
    if n_convs:
        n_in = check_convolutions(path, arrays, config, n_convs)
    for i in range(1, n_layers + 1):
        W, b = arrays[f"W{i}"], arrays.get(f"b{i}")
        if W.ndim != 2 or W.shape[1] != n_in or (b is not None and b.shape != W.shape[:1]):
            raise FileError(f"{path}: W{i} has shape {W.shape} and b{i} "
                            f"{None if b is None else b.shape}; expected (n, {n_in}) and (n,)")
        n_in = W.shape[0]
    if spec and n_in != spec.n_classes:
        raise FileError(f"{path}: the last layer has {n_in} outputs; {spec.name}, which it "
                        f"was trained on, has {spec.n_classes} classes")
    return arrays, config, state


def check_keys(path, arrays, n_convs, n_layers):
    """FileError unless the arrays are exactly the weights contract's for their layers: C_j, c_j,
    W_i, b_i, batch norm's where its weight is (in place of the layer's bias), each of its kind
    (floating; the batch count an integer), finite, and batch norm's one entry per unit."""
    expected = {f"{p}{i}" for i in range(1, n_convs + 1) for p in "Cc"} | \
        {f"{p}{i}" for i in range(1, n_layers + 1) for p in "Wb"}
    norms = batch_norms(arrays, n_convs, n_layers)
    for (layer, _), names in norms.items():
        expected |= set(names.values())
        expected.discard(("c" if layer.startswith("convolution") else "b") + layer.split()[-1])
    if set(arrays) != expected:
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        raise FileError(f"{path}: keys do not form {'C1, c1, ..., ' if n_convs else ''}"
                        f"W1, b1, ..., W{n_layers}, b{n_layers}"
                        + (" with batch norm's" if norms else "")
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unexpected {', '.join(extra)}" if extra else ""))
    for name, a in arrays.items():
        count = is_buffer(name) and name.endswith("num_batches_tracked")
        if not np.issubdtype(a.dtype, np.integer if count else np.floating):
            raise FileError(f"{path}: {name} is not of the kind it should be ({a.dtype})")
        if not np.all(np.isfinite(a)):
            raise FileError(f"{path}: {name} holds NaN or inf")
    for (layer, width), names in norms.items():
        wrong = [n for part, n in names.items()
                 if arrays[n].shape != (() if part == "num_batches_tracked" else (width,))]
        if wrong:
            raise FileError(f"{path}: {', '.join(wrong)} should have {width} entries, one per "
                            f"unit of {layer}")


def batch_norms(arrays, n_convs, n_layers):
    """{(layer, its width): bn names} of every batch norm a weights dict has (by its weight)."""
    out = {}
    for prefix, key, n in (("cbn", "C", n_convs), ("bn", "W", n_layers - 1)):
        for i in range(1, n + 1):
            if f"{prefix}{i}_weight" in arrays and f"{key}{i}" in arrays:
                layer = f"convolution {i}" if key == "C" else f"hidden layer {i}"
                out[layer, arrays[f"{key}{i}"].shape[0]] = bn_names(f"{prefix}{i}")
    return out


def check_convolutions(path, arrays, config, n_convs):
    """The kernels chain from one grey channel with one square size, and the structure in the
    config shrinks the image to what W1 takes; returns that flattened size."""
    c_in, k = 1, arrays["C1"].shape[-1]
    for j in range(1, n_convs + 1):
        C, c = arrays[f"C{j}"], arrays.get(f"c{j}")
        if C.ndim != 4 or C.shape[1:] != (c_in, k, k) or (c is not None
                                                          and c.shape != C.shape[:1]):
            raise FileError(f"{path}: C{j} has shape {C.shape} and c{j} "
                            f"{None if c is None else c.shape}; expected (n, {c_in}, {k}, {k}) "
                            f"and (n,)")
        c_in = C.shape[0]
    channels = tuple(arrays[f"C{j}"].shape[0] for j in range(1, n_convs + 1))
    try:
        padding, stride = (tuple(config[key]) for key in ("padding", "stride"))
        arch = Arch(DATASETS[config["dataset"]].image_shape,
                    padding * n_convs if len(padding) == 1 else padding,
                    stride * n_convs if len(stride) == 1 else stride, config["pool"])
        shapes = arch.feature_shapes(channels, k)
    except (KeyError, TypeError, ValueError) as e:
        raise FileError(f"{path}: a CNN's config must record its data set, padding, stride and "
                        f"pool, which fit its kernels ({e})")
    return int(np.prod(shapes[-1]))


class DataSetMismatch(FileError):
    """Weights that cannot take a data set's images or give its classes."""


def trained_on(config):
    """The data set a weights file's config records (files from before data sets were named:
    MNIST)."""
    return config.get("dataset", "mnist")


def check_fits(path, params, config, spec):
    """DataSetMismatch if the weights cannot take spec's images or give its classes; a warning
    (returned, one line, or None) if they fit but were trained on another data set."""
    trained = trained_on(config)
    _, n_layers = count_layers(params)
    n_in = DATASETS[trained].n_inputs if "C1" in params else params["W1"].shape[1]
    n_out = params[f"W{n_layers}"].shape[0]
    if (n_in, n_out) != (spec.n_inputs, spec.n_classes):
        raise DataSetMismatch(f"{path} takes {n_in} inputs and gives {n_out} classes (trained on "
                        f"{trained}); {spec.name} has {spec.n_inputs} inputs "
                        f"({'x'.join(map(str, spec.image_shape))}) and {spec.n_classes} classes")
    if trained != spec.name:
        return (f"warning: {path} was trained on {trained}, not {spec.name}; its shapes fit, "
                f"so it runs, but its predictions mean {trained}'s classes")
    return None
