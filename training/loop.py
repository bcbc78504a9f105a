"""The one training loop both twins run: batches, learning rate, weight average, evaluation,
history, checkpoints. The twin (twins/) does the maths; this module is pure NumPy.
"""
import copy
import math
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np
from tqdm import tqdm

from datasets.catalog import batch_order, dropout_masks
from nets.losses_np import LOSSES
from training.models import eval_batch
from training.schedule import EMA_EVERY, ema_decay_at, lr_at, total_steps_of

TRAIN_EVAL_SIZE = 10_000   # training images re-scored after each epoch for the train accuracy
# What a checkpoint keeps of the history, so that a resumed run's history is the whole run's.
HISTORY_KEPT = ("epochs", "step_losses", "train_seconds")


class Diverged(Exception):
    """The loss became NaN or infinite."""


# The signals that stop a run as Ctrl-C does: SIGTERM is how `timeout`, job schedulers and
# `docker stop` end a process, SIGHUP how a closed terminal or ssh session does.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_stop = threading.Event()
_stopped_by = [signal.SIGINT]


def stopped_by():
    """The signal that stopped the run or the command (SIGINT unless another): exit with
    128 + its number, as a shell reports a process that signal ended."""
    return _stopped_by[0]


@contextmanager
def signals_interrupt():
    """While active (around a whole command), SIGTERM and SIGHUP interrupt at once, as Ctrl-C
    does by default (KeyboardInterrupt), instead of killing the process without a word."""
    def handle(signum, frame):
        _stopped_by[0] = signum
        raise KeyboardInterrupt
    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS if s != signal.SIGINT}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def stop_between_steps():
    """While active (around training), Ctrl-C, SIGTERM or SIGHUP asks the training loop to stop
    after the current step, so no update is cut in half and what was trained can be saved; a
    second one interrupts at once."""
    def handle(signum, frame):
        if _stop.is_set():
            raise KeyboardInterrupt
        _stopped_by[0] = signum
        _stop.set()
    _stop.clear()
    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _stop.clear()


def evaluate(twin, model, x, y, batch_size=None):
    """Mean loss (the one the model trains with, unsmoothed: cross-entropy by default) and
    accuracy of `model` on (x, y), x on the twin's device, batch_size images a pass (default:
    training.models.eval_batch's).

    Both are computed here in NumPy from the model's logits, the same way for both twins."""
    batch_size = batch_size or eval_batch(model)
    loss_forward = LOSSES[model.loss][0]
    losses, correct = [], 0
    y = twin.to_numpy(y)
    for i in range(0, len(y), batch_size):
        logits = twin.to_numpy(twin.logits(model, x[i:i + batch_size])).astype(np.float64)
        loss, _ = loss_forward(logits, y[i:i + batch_size])
        losses.append(float(loss) * len(logits))
        correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    return sum(losses) / len(y), correct / len(y)


def logits_of(twin, model, x, batch_size=None):
    """x (N, D) NumPy -> logits (N, classes) as float64 NumPy, in batches."""
    batch_size = batch_size or eval_batch(model)
    return np.concatenate([twin.to_numpy(twin.logits(model, twin.asarray(x[i:i + batch_size])))
                           for i in range(0, len(x), batch_size)]).astype(np.float64)


def predictions(twin, model, x, batch_size=None):
    """The class each image of x (N, D) NumPy is given, (N,) NumPy."""
    return logits_of(twin, model, x, batch_size).argmax(axis=1)


def train(twin, model, data, cfg, label="", progress=True, log=print, resume=None,
          checkpoint=None, after_epoch=None):
    """Train `model` (a network of `twin`) on data.x_train with the hyperparameters of cfg;
    returns the final history (see train_epochs)."""
    for history in train_epochs(twin, model, data, cfg, label, progress, log, resume,
                                checkpoint, after_epoch):
        pass
    return history


def train_epochs(twin, model, data, cfg, label="", progress=True, log=print, resume=None,
                 checkpoint=None, after_epoch=None):
    """Train epoch by epoch, yielding the history after each epoch, so that a caller can run
    two twins in lockstep. The history holds per-epoch metrics, the loss of every step, and
    whether the run was interrupted (Ctrl-C: the history so far is yielded once more, marked).
    Evaluates on the validation set when cfg.val_size > 0, else on the test set.
    With cfg.ema, the moving average of the weights is what is evaluated, and it becomes
    model's weights when training ends (or is interrupted).
    resume: a checkpoint to continue from (model holding its trained weights): the run goes on
    from the step it reached, with its optimizer state, weight average and history, as if it
    had never stopped. checkpoint: a dict, filled when training ends or is interrupted with
    what resuming needs (see Run.checkpoint). after_epoch(run, epoch), if given, is called
    after each epoch's record (a command saves a checkpoint there).
    Raises Diverged as soon as a step's loss is NaN or infinite."""
    run = Run(twin, model, data, cfg, label, resume)
    try:
        for epoch in range(run.step // run.steps_per_epoch + 1, cfg.epochs + 1):
            record = run.train_epoch(epoch, progress)
            if epoch == cfg.epochs:
                run.finish(checkpoint)
            log(epoch_line(label, epoch, cfg, record, run.held_out))
            if after_epoch:
                after_epoch(run, epoch)
            yield run.history
    except KeyboardInterrupt:
        run.finish(checkpoint)
        run.history["interrupted"] = True
        whole = len(run.history["epochs"])
        log(f"{label} interrupted after {run.step} steps ({whole} whole "
            f"epoch{'s' * (whole != 1)})")
        yield run.history


def epoch_line(label, epoch, cfg, record, held_out):
    """The line an epoch ends with: like with like first (the plain loss of the evaluated
    network on TRAIN_EVAL_SIZE training images and on the held-out ones, its held-out
    accuracy), then the objective trained, the mean loss of the epoch's steps (label-smoothed
    where label smoothing is on, so its floor is not 0), said as such."""
    smoothed = f", label-smoothed {cfg.label_smoothing:g}" if cfg.label_smoothing else ""
    return (f"{label} epoch {epoch:>2}/{cfg.epochs}  train loss {record['train_eval_loss']:.4f}  "
            f"{held_out} loss {record[f'{held_out}_loss']:.4f}  "
            f"{held_out} acc {100 * record[f'{held_out}_acc']:.2f}%  "
            f"objective {record['train_loss']:.4f} (mean step loss{smoothed})  "
            f"{record['seconds']:.2f} s")


class Run:
    """One training run's state: the data on the twin's device, the optimizer, the weight
    average, the step reached (0-based count of steps taken) and the history."""

    def __init__(self, twin, model, data, cfg, label, resume=None):
        self.twin, self.model, self.cfg = twin, model, cfg
        self.held_out = "val" if cfg.val_size else "test"
        self.data = data
        self.x_train, self.y_train = twin.asarray(data.x_train), twin.asarray(data.y_train)
        x_eval, y_eval = (data.x_val, data.y_val) if cfg.val_size else (data.x_test, data.y_test)
        self.x_eval, self.y_eval = twin.asarray(x_eval), twin.asarray(y_eval)
        self.n = len(data.y_train)
        self.optimizer = twin.optimizer(model, cfg.optimizer, cfg.lr, cfg.momentum,
                                        cfg.weight_decay)
        self.average = twin.average(model, resume and resume["average"]) if cfg.ema else None
        self.steps_per_epoch = math.ceil(self.n / cfg.batch_size)
        self.total_steps = total_steps_of(cfg, self.n)
        self.history = dict(label=label, config=cfg.to_dict(), held_out=self.held_out,
                            epochs=[], step_losses=[], interrupted=False, train_seconds=0.0)
        self.step = 0
        if resume:
            twin.load_optimizer_state(self.optimizer, model, resume["optimizer"])
            self.step = resume["step"]
            self.history.update({k: copy.deepcopy(resume["history"][k]) for k in HISTORY_KEPT})

    def train_epoch(self, epoch, progress):
        """The rest of epoch `epoch` (all of it unless resumed mid-way), then its record."""
        cfg = self.cfg
        batches = batch_order(self.n, cfg.batch_size, cfg.seed, epoch)
        done = self.step - (epoch - 1) * self.steps_per_epoch       # > 0 in a resumed epoch
        bar = tqdm(batches[done:], desc=f"{self.history['label']} epoch {epoch}/{cfg.epochs}",
                   leave=False, disable=not progress, unit="batch", initial=done,
                   total=len(batches))
        start = time.perf_counter()
        # a step that overflows is caught by its loss (train_step): NumPy's warnings of it would
        # only print lines of source before the run's one-line error
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for idx in bar:
                self.train_step(idx, epoch)
                if _stop.is_set():
                    raise KeyboardInterrupt
        seconds = time.perf_counter() - start
        return self.record(epoch, seconds, len(batches))

    def train_step(self, idx, epoch):
        """One step on the images idx (NumPy indices): the learning rate of this step, the
        twin's step (on augmented images, with dropout masks, where cfg asks: both drawn from
        the seed, the epoch and the step), the weight average every EMA_EVERY steps."""
        twin, cfg = self.twin, self.cfg
        twin.set_lr(self.optimizer, lr_at(cfg, self.step, self.total_steps))
        in_epoch = self.step - (epoch - 1) * self.steps_per_epoch
        if cfg.augment:
            from datasets.augment import DISTORTIONS, augment, rng_for
            x = twin.asarray(augment(self.data.x_train[idx], self.data.spec.image_shape,
                                     rng_for(cfg.seed, epoch, in_epoch),
                                     DISTORTIONS[cfg.distortion]))
        else:
            x = self.x_train[twin.asarray(idx)]
        masks = None
        if cfg.dropout:
            masks = [twin.asarray(m) for m in dropout_masks(
                self.model.dropout_widths, len(idx), cfg.dropout, cfg.seed, epoch, in_epoch,
                cfg.dtype)]
        loss = float(twin.train_step(self.model, x, self.y_train[twin.asarray(idx)],
                                     self.optimizer, cfg.label_smoothing, masks))
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss} at step {self.step + 1} (epoch {epoch})")
        if self.average and (self.step + 1) % EMA_EVERY == 0:
            self.average.update(self.model, ema_decay_at(cfg, self.step))
        self.history["step_losses"].append(loss)
        self.step += 1

    def record(self, epoch, seconds, n_batches):
        """The epoch's record, appended to the history: times, the mean training loss of its
        steps, the last learning rate, and the scores of the evaluated network."""
        history = self.history
        history["train_seconds"] += seconds
        record = dict(epoch=epoch, seconds=seconds, train_seconds=history["train_seconds"],
                      train_loss=float(np.mean(history["step_losses"][-n_batches:])),
                      lr=lr_at(self.cfg, self.step - 1, self.total_steps))
        evaluated = self.average_now().model if self.average else self.model
        record.update(scores(self.twin, evaluated, self.x_train, self.y_train, self.x_eval,
                             self.y_eval, self.held_out))
        history["epochs"].append(record)
        return record

    def average_now(self):
        """The weight average including every step taken: the kept average itself when it has
        just moved, else a copy of it moved by the steps since (their decay, towards the
        weights now). The kept average moves on its own schedule, so that a run resumed from a
        checkpoint moves it as the run never stopped would."""
        pending = self.step % EMA_EVERY
        if not pending:
            return self.average
        now = self.twin.average(self.average.model)
        now.update(self.model, ema_decay_at(self.cfg, self.step - 1, pending))
        return now

    def kept_weights(self):
        """{name: NumPy array} of what the run keeps now: the weight average including every
        step taken, or the trained weights without one."""
        return self.twin.export(self.average_now().model if self.average else self.model)

    def finish(self, checkpoint):
        """Fill `checkpoint` (if a dict) with what resuming needs, then make the weight average,
        if any, the model's weights."""
        if checkpoint is not None:
            checkpoint.update(self.checkpoint())
        if self.average:
            self.average_now().copy_to(self.model)

    def checkpoint(self):
        """What resuming needs, as NumPy arrays: the step reached, the trained weights (before
        the average replaces them), the optimizer's state in torch's form (see
        twins.base.Twin.optimizer_state), the weight average as it last moved (or None), and
        the history so far."""
        twin = self.twin
        return dict(step=self.step, weights=twin.export(self.model),
                    optimizer=twin.optimizer_state(self.optimizer, self.model),
                    average=twin.export(self.average.model) if self.average else None,
                    history={k: self.history[k] for k in HISTORY_KEPT})


def scores(twin, model, x_train, y_train, x_eval, y_eval, held_out):
    """Loss and accuracy on the held-out set, and on the first TRAIN_EVAL_SIZE training images
    (for the train accuracy curve), after an epoch."""
    out = {}
    out["train_eval_loss"], out["train_acc"] = evaluate(twin, model, x_train[:TRAIN_EVAL_SIZE],
                                                        y_train[:TRAIN_EVAL_SIZE])
    out[f"{held_out}_loss"], out[f"{held_out}_acc"] = evaluate(twin, model, x_eval, y_eval)
    return out


def first_epoch_reaching(history, accuracy):
    """The first epoch's record whose held-out accuracy reached `accuracy`, or {} if none did."""
    key = f"{history['held_out']}_acc"
    return next((e for e in history["epochs"] if e[key] >= accuracy), {})
