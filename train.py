"""The one training loop both twins run: batches, learning rate, evaluation, history.

`twin` is the module mlp_np or mlp_torch; the loop only calls what both define:
MLP.asarray, MLP.train_step, MLP.logits, EMA, make_optimizer and set_lr. Pure NumPy itself.
"""
import math
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np
from tqdm import tqdm

from config import EMA_EVERY, ema_decay_at, lr_at
from data import batch_order
from layers_np import LOSSES

TRAIN_EVAL_SIZE = 10_000   # training images re-scored after each epoch for the train accuracy
EVAL_BATCH = 10_000        # images per forward pass when scoring (models.memory_needed counts it)
# What a checkpoint keeps of the history, so that a resumed run's history is the whole run's.
HISTORY_KEPT = ("epochs", "step_losses", "train_seconds")


class Diverged(Exception):
    """The loss became NaN or infinite."""


_stop = threading.Event()


@contextmanager
def ctrl_c_stops_between_steps():
    """While active (in an entry point), Ctrl-C asks the training loop to stop after the
    current step, so no update is cut in half; a second Ctrl-C interrupts at once."""
    def handle(signum, frame):
        if _stop.is_set():
            raise KeyboardInterrupt
        _stop.set()
    _stop.clear()
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _stop.clear()


def to_numpy(a):
    """A NumPy, CuPy or torch array (any device) -> NumPy array."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return a.get() if hasattr(a, "get") else np.asarray(a)


def evaluate(model, x, y, batch_size=EVAL_BATCH):
    """Mean loss (the one the model trains with, unsmoothed: cross-entropy by default) and
    accuracy of `model` on (x, y), x on the model's device.

    Both are computed here in NumPy from the model's logits, the same way for both twins."""
    loss_forward = LOSSES[model.loss][0]
    losses, correct = [], 0
    y = to_numpy(y)
    for i in range(0, len(y), batch_size):
        logits = to_numpy(model.logits(x[i:i + batch_size])).astype(np.float64)
        loss, _ = loss_forward(logits, y[i:i + batch_size])
        losses.append(float(loss) * len(logits))
        correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    return sum(losses) / len(y), correct / len(y)


def predictions(model, x, batch_size=EVAL_BATCH):
    """The class each image of x (N, D) is given, (N,) NumPy, x on the model's device."""
    return np.concatenate([to_numpy(model.logits(x[i:i + batch_size])).argmax(axis=1)
                           for i in range(0, len(x), batch_size)])


def train(twin, model, data, cfg, label="", progress=True, log=print, resume=None,
          checkpoint=None):
    """Train `model` (a twin.MLP) on data.x_train with the hyperparameters of cfg; returns the
    final history (see train_epochs)."""
    for history in train_epochs(twin, model, data, cfg, label, progress, log, resume,
                                checkpoint):
        pass
    return history


def train_epochs(twin, model, data, cfg, label="", progress=True, log=print, resume=None,
                 checkpoint=None):
    """Train epoch by epoch, yielding the history after each epoch, so that a caller can run
    two twins in lockstep. The history holds per-epoch metrics, the loss of every step, and
    whether the run was interrupted (Ctrl-C: the history so far is yielded once more, marked).
    Evaluates on the validation set when cfg.val_size > 0, else on the test set.
    With cfg.ema, the moving average of the weights is what is evaluated, and it becomes
    model's weights when training ends (or is interrupted).
    resume: a checkpoint to continue from (model holding its trained weights): the run goes on
    from the step it reached, with its optimizer state, weight average and history, as if it
    had never stopped. checkpoint: a dict, filled when training ends or is interrupted with
    what resuming needs (see new_checkpoint).
    Raises Diverged as soon as a step's loss is NaN or infinite."""
    held_out = "val" if cfg.val_size else "test"
    x_train, y_train = model.asarray(data.x_train), model.asarray(data.y_train)
    x_eval, y_eval = ((data.x_val, data.y_val) if cfg.val_size else (data.x_test, data.y_test))
    x_eval, y_eval = model.asarray(x_eval), model.asarray(y_eval)
    n = len(data.y_train)
    optimizer = twin.make_optimizer(model, cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay)
    average = twin.EMA(model, resume and resume["average"]) if cfg.ema else None
    evaluated = average.model if average else model
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = total_steps_of(cfg, n)
    history = dict(label=label, config=cfg.to_dict(), held_out=held_out, epochs=[],
                   step_losses=[], interrupted=False, train_seconds=0.0)
    step = 0
    if resume:
        twin.load_optimizer_state(optimizer, model, resume["optimizer"])
        step = resume["step"]
        history.update({k: resume["history"][k] for k in HISTORY_KEPT})
    def keep(checkpoint):
        if checkpoint is not None:
            checkpoint.update(new_checkpoint(twin, model, optimizer, average, step, history))
    try:
        for epoch in range(step // steps_per_epoch + 1, cfg.epochs + 1):
            batches = batch_order(n, cfg.batch_size, cfg.seed, epoch)
            done = step - (epoch - 1) * steps_per_epoch       # > 0 in a resumed epoch
            bar = tqdm(batches[done:], desc=f"{label} epoch {epoch}/{cfg.epochs}", leave=False,
                       disable=not progress, unit="batch", initial=done, total=len(batches))
            start = time.perf_counter()
            for idx in bar:
                twin.set_lr(optimizer, lr_at(cfg, step, total_steps))
                idx = model.asarray(idx)
                loss = float(model.train_step(x_train[idx], y_train[idx], optimizer,
                                              cfg.label_smoothing))
                if not math.isfinite(loss):
                    raise Diverged(f"the loss became {loss} at step {step + 1} (epoch {epoch})")
                if average and (step + 1) % EMA_EVERY == 0:
                    average.update(model, ema_decay_at(cfg, step))
                history["step_losses"].append(loss)
                step += 1
                if _stop.is_set():
                    raise KeyboardInterrupt
            seconds = time.perf_counter() - start
            history["train_seconds"] += seconds
            record = dict(epoch=epoch, seconds=seconds, train_seconds=history["train_seconds"],
                          train_loss=float(np.mean(history["step_losses"][-len(batches):])),
                          lr=lr_at(cfg, step - 1, total_steps))
            record.update(scores(evaluated, x_train, y_train, x_eval, y_eval, held_out))
            history["epochs"].append(record)
            if epoch == cfg.epochs:
                keep(checkpoint)
                if average:
                    average.copy_to(model)
            log(f"{label} epoch {epoch:>2}/{cfg.epochs}  train loss {record['train_loss']:.4f}  "
                f"{held_out} loss {record[f'{held_out}_loss']:.4f}  "
                f"{held_out} acc {100 * record[f'{held_out}_acc']:.2f}%  {seconds:.2f} s")
            yield history
    except KeyboardInterrupt:
        keep(checkpoint)
        if average:
            average.copy_to(model)
        history["interrupted"] = True
        log(f"{label} interrupted after {step} steps ({len(history['epochs'])} whole epochs)")
        yield history


def total_steps_of(cfg, n_train):
    """Training steps of a whole run of cfg on n_train images (the last batch may be short)."""
    return cfg.epochs * math.ceil(n_train / cfg.batch_size)


def new_checkpoint(twin, model, optimizer, average, step, history):
    """What resuming needs, as NumPy arrays: the step reached, the trained weights (before the
    average replaces them), the optimizer's state in torch's form (see mlp_np.optimizer_state),
    the weight average (or None), and the history so far."""
    return dict(step=step, weights=model.params(),
                optimizer=twin.optimizer_state(optimizer, model),
                average=average.model.params() if average else None,
                history={k: history[k] for k in HISTORY_KEPT})


def scores(model, x_train, y_train, x_eval, y_eval, held_out):
    """Loss and accuracy on the held-out set, and on the first TRAIN_EVAL_SIZE training images
    (for the train accuracy curve), after an epoch."""
    out = {}
    out["train_eval_loss"], out["train_acc"] = evaluate(model, x_train[:TRAIN_EVAL_SIZE],
                                                        y_train[:TRAIN_EVAL_SIZE])
    out[f"{held_out}_loss"], out[f"{held_out}_acc"] = evaluate(model, x_eval, y_eval)
    return out


def first_epoch_reaching(history, accuracy):
    """The first epoch's record whose held-out accuracy reached `accuracy`, or {} if none did."""
    key = f"{history['held_out']}_acc"
    return next((e for e in history["epochs"] if e[key] >= accuracy), {})
