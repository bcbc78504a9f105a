"""The verdict on a finished run that learnt nothing, naming its cause: the causes are tried in
order, each from what the run itself shows, so that the advice fits the fault.

    0. dropout at DROPPED or above keeps too few units of a step to learn from (the loss stays
       flat, or grows with the survivors' 1 / (1 - p) scaling: not the learning rate's doing)
    1. the loss blew up (a step's loss above SPIKE times the first's) or grew instead of
       falling: the learning rate is too high (NaN and inf stop the run at once:
       training.loop.Diverged)
    2. a hidden layer is silent: every ReLU unit of it gives 0 on every training image, so no
       gradient reaches the layers before it, and no learning rate revives them
    3. the training images are learnt but the held-out ones score chance: the held-out files
       do not belong with the training files
    4. none of these: the learning rate is the likeliest cause
"""
import numpy as np

from nets.cnn_np import CNN
from nets.dense_np import Dense
from nets.shapes import split_buffers

DROPPED = 0.9            # dropout at this rate or above: too few units left to learn from
SPIKE = 3.0              # a step loss this many times the first step's: the loss blew up
CHANCE_MARGIN = 0.02     # held-out accuracy within this of the majority class's share: chance
LEARNT = 0.5             # training accuracy at least this, and twice chance: the images are learnt
SAMPLE = 2000            # training images the silent-layer check looks at
# A last layer started at 0 passes no gradient back until its weights have grown, so a unit
# cannot be pushed below 0 on every image in the first steps (the single neuron's cure)
ZERO_OUTPUT = (", or --output-init zero: the output layer starts at 0 and sends no gradient "
               "back until it has grown")


def failure(history, dataset, cfg, kept, arch=None):
    """The one-line verdict on a finished run whose held-out accuracy is at chance, or None if
    it learnt. kept: the weights the run keeps ({name: NumPy array}); arch: a CNN's."""
    held_out = history["held_out"]
    last = history["epochs"][-1]
    y = dataset.y_val if held_out == "val" else dataset.y_test
    chance = float(np.bincount(y).max() / len(y))
    if last[f"{held_out}_acc"] > chance + CHANCE_MARGIN:
        return None
    said = (f"training failed: the final {held_out} accuracy {100 * last[f'{held_out}_acc']:.2f}% "
            f"is at chance level (always answering the most common class scores "
            f"{100 * chance:.2f}%)")
    lower = f"try a lower learning rate (--lr {cfg.lr / 10:g})"
    if cfg.dropout >= DROPPED:
        return (f"{said}: dropout {cfg.dropout:.10g} keeps {1 - cfg.dropout:.2g} of each hidden "
                f"layer's units in a step, scaled by {1 / (1 - cfg.dropout):.3g}: too few to "
                f"learn from; try --dropout 0.5 or less; no weights were saved")
    losses = np.asarray(history["step_losses"])
    first, final = losses[:10].mean(), losses[-10:].mean()
    if losses.max() > SPIKE * losses[0] or final > first:
        worst = int(losses.argmax())
        return (f"{said}: the training loss blew up instead of falling (from {losses[0]:.4g} at "
                f"step 1 to {losses[worst]:.4g} at step {worst + 1}), as a too high learning rate "
                f"makes it; {lower}; no weights were saved")
    silent = cfg.activation == "relu" and silent_layer(kept, dataset.x_train[:SAMPLE], cfg.loss,
                                                       arch)
    if silent:
        cure = ZERO_OUTPUT if cfg.output_init != "zero" else ""
        return (f"{said}: {silent} gives 0 on every training image (its ReLU units died), so no "
                f"gradient reaches the layers before it and no learning rate revives them; give "
                f"it more units or start from other weights (--seed{cure}); no weights were saved")
    if last["train_acc"] >= max(LEARNT, 2 * chance):
        return (f"{said}, while the training images are learnt ({100 * last['train_acc']:.2f}% "
                f"right): the {held_out} images or labels do not belong with the training "
                f"files (look at the files in {dataset.source}); no weights were saved")
    return f"{said}. {lower[0].upper()}{lower[1:]}; no weights were saved"


def silent_layer(params, x, loss="ce", arch=None):
    """'hidden layer k (n units)' or 'convolution j (c channels)' for the first layer of the
    ReLU network of params whose every output is 0 on every image of x (N, D), or None."""
    own, buffers = split_buffers(params)
    model = (CNN(own, arch, loss, buffers) if arch is not None else Dense(own, buffers, loss))
    _, caches = model.forward(x.astype(params["W1"].dtype))
    for name, outputs in model.hidden_outputs(caches):
        if not any(a.any() for a in outputs):
            return name
    return None
