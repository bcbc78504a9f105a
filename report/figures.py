"""The pictures compare.py and bench.py write: learning curves, the twins' step-by-step parity,
and what the trained twins get wrong (confusion matrices, the misclassified test images) and
what their first layer learnt. Each is written atomically as a PNG."""
import numpy as np

from storage.atomic import atomic_write


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


STYLE = {"numpy": dict(color="tab:blue", lw=4, alpha=0.45),
         "torch": dict(color="tab:red", lw=1.3, marker=".", ms=5)}


def plot_curves(histories, out, title="MNIST"):
    """loss.png and accuracy.png: train and test curves of both twins on one figure each (the
    plain loss of the evaluated network on both, like with like)."""
    import matplotlib.ticker
    plt = pyplot()
    for name, keys, ylabel, log in (("loss", ("train_eval_loss", "test_loss"), "loss", True),
                                    ("accuracy", ("train_acc", "test_acc"), "accuracy (%)", False)):
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
        for h in histories:
            epochs = [e["epoch"] for e in h["epochs"]]
            for key, ls in zip(keys, ("-", "--")):
                values = [e[key] * (1 if log else 100) for e in h["epochs"]]
                ax.plot(epochs, values, ls=ls, label=f"{h['twin']} ({h['device']}) "
                        f"{key.split('_')[0]}", **STYLE[h["twin"]])
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=ylabel, yscale="log" if log else "linear",
               title=f"{title} {name}: NumPy and PyTorch twins, same weights, same batches")
        if not log:
            ax.set_ylim(max(ax.get_ylim()[0], min(100 * e["test_acc"] for h in histories
                                                   for e in h["epochs"]) - 1), 100.2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, out / f"{name}.png")


def plot_parity(parity, out):
    """parity.png: |loss_numpy - loss_torch| at every step, float32 and float64, log scale."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for dtype, group in parity.groupby("dtype"):
        nonzero = group[group.abs_diff > 0]
        ax.plot(nonzero.step, nonzero.abs_diff, ".", ms=2.5,
                label=f"{dtype}: {len(group)} steps, {len(group) - len(nonzero)} exactly equal "
                      f"(not shown), max {group.abs_diff.max():.1e}")
    ax.set(xlabel="training step", ylabel="|loss(NumPy) - loss(PyTorch)|", yscale="log",
           title="How closely the twins track, step by step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, markerscale=4)
    fig.tight_layout()
    save_figure(fig, out / "parity.png")


def save_figure(fig, path):
    plt = pyplot()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


# --- what the trained twins get wrong, and what their first layer learnt -------------------

TWIN_NAMES = {"numpy": "NumPy", "torch": "PyTorch"}


def plot_explanations(histories, x_test, y_test, spec, out, title):
    """confusion.png, errors.png and first_layer.png from the histories of one run of both
    twins (each holding its test_predictions and first_layer, see training.lockstep)."""
    predictions = {h["twin"]: np.asarray(h["test_predictions"]) for h in histories}
    plot_confusion(predictions, y_test, spec, out / "confusion.png", title)
    plot_errors(predictions, x_test, y_test, spec, out / "errors.png", title)
    plot_first_layer({h["twin"]: h["first_layer"] for h in histories}, spec,
                     out / "first_layer.png", title)


def confusion(y_true, y_pred, n_classes):
    """(C, C) counts: row = true class, column = predicted class."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes ** 2) \
        .reshape(n_classes, n_classes)


def plot_confusion(predictions, y_test, spec, path, title):
    """The twins' confusion matrices side by side, the off-diagonal counts written in."""
    plt = pyplot()
    C = spec.n_classes
    fig, axes = plt.subplots(1, len(predictions), figsize=(5.2 * len(predictions), 5), dpi=110)
    for ax, (twin, pred) in zip(np.atleast_1d(axes), predictions.items()):
        counts = confusion(y_test, pred, C)
        errors = counts - np.diag(np.diag(counts))
        ax.imshow(errors, cmap="Reds", vmin=0)
        for i in range(C):
            for j in range(C):
                if counts[i, j] and (i != j or C <= 10):
                    ax.text(j, i, counts[i, j], ha="center", va="center",
                            fontsize=7 if i == j else 8,
                            color="grey" if i == j else "black")
        ax.set(xticks=range(C), yticks=range(C), xlabel="predicted", ylabel="true",
               title=f"{TWIN_NAMES[twin]}: {len(y_test) - errors.sum()} of {len(y_test)} right")
        ax.set_yticklabels(spec.classes, fontsize=7)
        ax.set_xticklabels(spec.classes, fontsize=7, rotation=90 if C > 2 else 0)
    fig.suptitle(f"{title}: test set confusion matrices (off the diagonal: the errors)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_errors(predictions, x_test, y_test, spec, path, title, shown=60):
    """Up to `shown` test images a twin gets wrong, labelled true -> NumPy's / PyTorch's;
    those where the twins disagree first, framed in red."""
    plt = pyplot()
    numpy_, torch_ = predictions["numpy"], predictions["torch"]
    wrong = (numpy_ != y_test) | (torch_ != y_test)
    disagree = numpy_ != torch_
    order = np.concatenate([np.flatnonzero(wrong & disagree), np.flatnonzero(wrong & ~disagree)])
    order = order[:shown]
    cols = 10
    rows = max(1, -(-len(order) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3 + 0.8), dpi=110,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), order):
        ax.imshow(x_test[i].reshape(spec.image_shape), cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.axis("on")
        ax.set(xticks=[], yticks=[])
        both = f"{numpy_[i]}" if not disagree[i] else f"{numpy_[i]}/{torch_[i]}"
        ax.set_title(f"{y_test[i]}→{both}", fontsize=8, color="red" if disagree[i] else "black")
        for side in ax.spines.values():
            side.set(color="red" if disagree[i] else "lightgrey", lw=2 if disagree[i] else 0.5)
    fig.suptitle(f"{title}: test images the twins get wrong (true → predicted). NumPy wrong on "
                 f"{(numpy_ != y_test).sum()}, PyTorch on {(torch_ != y_test).sum()}; they "
                 f"disagree on {disagree.sum()} (red: NumPy's/PyTorch's). {min(shown, wrong.sum())} "
                 f"of {wrong.sum()} shown", fontsize=9, wrap=True)
    fig.tight_layout()
    save_figure(fig, path)


def plot_first_layer(first_layers, spec, path, title, units=32):
    """Each twin's first-layer weights as images: a CNN's filters, or a sample of an MLP's
    hidden units (the same units for both twins), blue negative and red positive."""
    plt = pyplot()
    sample = None
    grids = {}
    for twin, W in first_layers.items():
        if W.ndim == 4:                                  # (C, 1, k, k): a CNN's filters
            grids[twin], kind = W[:, 0], "filters"
        else:                                            # (hidden, H W): an MLP's units
            if sample is None:
                sample = np.sort(np.random.default_rng(0).choice(
                    len(W), min(units, len(W)), replace=False))
            grids[twin], kind = W[sample].reshape(-1, *spec.image_shape), "hidden units"
    n = len(next(iter(grids.values())))
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 0.9, rows * 1.0 + 0.8),
                             dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for t, (twin, images) in enumerate(grids.items()):
        for k, image in enumerate(images):
            ax = axes[k // cols, t * cols + k % cols]
            limit = np.abs(image).max() or 1
            ax.imshow(image, cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
        axes[0, t * cols].set_title(TWIN_NAMES[twin], fontsize=9, loc="left")
    fig.suptitle(f"{title}: first-layer {kind} after training (NumPy left, PyTorch right)",
                 fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
