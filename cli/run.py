"""Train one twin from the command line: main_np.py and main_torch.py are `main` with a twin's
name. Starting the run, training it, keeping what it made whatever happens, and errors in one
line.

Exit codes: 0 done; 1 a data, file or run problem (one line on stderr); 2 a bad flag
(argparse-style); 128 + the signal's number when Ctrl-C (130), SIGTERM (143) or SIGHUP (129)
stopped the run (its weights, checkpoint and history so far are saved first).
Importing this module imports neither twin: the NumPy path never imports torch.
"""
import os
import signal
import sys
import tempfile
from pathlib import Path

from cli.flags import parse, refuse_changes
from datasets.base import DataError
from datasets.catalog import load as load_dataset
from storage.atomic import FileError, write_json
from training import diagnosis, loop, models, weights_file
from training.config import Config, given_values
from training.schedule import total_steps_of
from training.start import RunError, initial_params, model_of, resumed
from twins import load_twin
from twins.base import TwinError

# The errors a command reports in one line, exit 1.
ERRORS = (RunError, DataError, FileError, models.ModelError, TwinError)


def warn(dataset):
    """Print the data set's warning (e.g. its files are not the official ones), if any, on
    stderr: once, where the command goes on past its own checks."""
    if dataset.warning:
        print(dataset.warning, file=sys.stderr)


def fail(message, code=1):
    """Print `message` as the command's one-line error; return the exit code."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    return code


def main(twin_name, description, argv=None):
    parser, cfg, args = parse(description, argv)
    try:
        with loop.signals_interrupt():
            return run(parser, cfg, args, twin_name)
    except ERRORS as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted", 128 + loop.stopped_by())


def run(parser, cfg, args, twin_name):
    """The run the flags ask for: its config and data first, every flag checked against them
    and against the files that decide what a flag would, before anything is trained."""
    resume = None
    if args.resume:
        try:
            params, saved, resume = resumed(args.resume, args.epochs)
        except RunError as e:            # --epochs below the saved run's: a flag against its file
            parser.error(str(e))
        refuse_changes(parser, saved, {k: v for k, v in args.explicit.items() if k != "epochs"},
                       f"--resume continues the run saved in {args.resume} as it was set up",
                       "leave the flag out or give the saved value (--epochs may raise the "
                       "total)")
        cfg = saved
    elif args.load:        # the defaults of the file's model, on the file's data set unless given
        loaded, saved = weights_file.load_weights(args.load)
        dataset = cfg.dataset if "dataset" in args.explicit else weights_file.trained_on(saved)
        cfg = Config.for_run(dataset, model_of(loaded), **given_values(args))
    dataset = load_dataset(cfg.dataset, args.data_dir, cfg.dtype, cfg.val_size)
    problem = models.batch_problem(cfg, len(dataset.y_train))
    if problem and not args.eval:
        parser.error(problem)
    if not resume:
        try:
            params, cfg = initial_params(cfg, args.load, decide_loss=args.eval and
                                         "loss" not in args.explicit)
        except weights_file.DataSetMismatch as e:   # --dataset given against the file's shapes
            parser.error(str(e))
        if args.load:
            refuse_changes(parser, cfg, {k: v for k, v in args.explicit.items()
                                         if k in STRUCTURE},
                           f"--load {args.load} decides the network's shape",
                           "leave the flag out or give the file's value")
    total_steps = total_steps_of(cfg, len(dataset.y_train))
    if resume and resume["step"] >= total_steps:
        finished = (f"the run saved in {args.resume} has finished its {cfg.epochs} "
                    f"epochs; give --epochs above {cfg.epochs} to train on")
        if "epochs" in args.explicit:            # a flag that asks for nothing more: exit 2
            parser.error(finished)
        raise RunError(finished)
    twin = load_twin(twin_name, args.device, args.threads)
    model = models.build(twin, cfg, params)
    warn(dataset)
    if args.eval:
        loss, acc = loop.evaluate(twin, model, twin.asarray(dataset.x_test),
                                  twin.asarray(dataset.y_test))
        print(f"{twin_name} on {twin.device}: test loss {loss:.4f}  test acc {100 * acc:.2f}%")
        return 0
    return train_and_save(twin, model, dataset, cfg, args, resume, total_steps)


def train_and_save(twin, model, dataset, cfg, args, resume, total_steps):
    """Train, judge the run, keep its weights and history; the exit code."""
    label = f"{twin.name}/{twin.device}"
    if resume:
        print(f"{label}: resuming {args.resume} at step {resume['step']} of {total_steps}")
    print(f"{label}: {dataset.spec.title}, {models.describe(cfg)}, {cfg.optimizer} lr {cfg.lr} "
          f"({cfg.schedule}), batch {cfg.batch_size}, {cfg.epochs} "
          f"epoch{'s' * (cfg.epochs != 1)}, label smoothing {cfg.label_smoothing:g}, "
          f"weight average {cfg.ema:g}, {cfg.dtype}, "
          f"{args.threads} thread{'s' * (args.threads != 1)}; data from {dataset.source}")
    checkpoint = {}
    every = args.checkpoint_every
    def save_checkpoint(run, epoch):
        if every and epoch % every == 0 and epoch < cfg.epochs:
            weights_file.save_weights(args.save, run.kept_weights(), saved_config(cfg, twin),
                                      run.checkpoint())
    try:
        with loop.stop_between_steps():
            history = loop.train(twin, model, dataset, cfg, label, not args.no_progress,
                                 resume=resume, checkpoint=checkpoint,
                                 after_epoch=save_checkpoint)
    except loop.Diverged as e:
        return fail(f"training diverged: {e}. Try a lower learning rate "
                    f"(--lr {cfg.lr / 10:g}); no weights were saved")
    history.update(twin=twin.name, device=twin.device, threads=args.threads)
    kept = twin.export(model)
    failed = not history["interrupted"] and diagnosis.failure(
        history, dataset, cfg, kept, models.arch(cfg) if cfg.model == "cnn" else None)
    if failed:
        return fail(failed)
    rescued = keep(args.save, lambda path: weights_file.save_weights(
        path, kept, dict(saved_config(cfg, twin), interrupted=history["interrupted"]),
        checkpoint))
    rescued += keep(args.history, lambda path: write_json(path, history))
    if rescued:
        return fail("; ".join(rescued))
    saved = [str(p) for p in (args.save, args.history) if p]
    if history["interrupted"]:
        print(f"interrupted by {signal.Signals(loop.stopped_by()).name}: saved "
              f"{', '.join(saved) if saved else 'nothing (no --save/--history)'}")
        return 128 + loop.stopped_by()
    last, held_out = history["epochs"][-1], history["held_out"]
    print(f"{label}: final {held_out} accuracy {100 * last[f'{held_out}_acc']:.2f}% "
          f"after {history['train_seconds']:.1f} s of training"
          + (f"; saved {', '.join(saved)}" if saved else ""))
    return 0


STRUCTURE = ("model", "hidden", "channels", "kernel", "padding", "stride", "pool", "loss",
             "batch_norm", "activation")


def saved_config(cfg, twin):
    """The config a weights file records: the run's hyperparameters and the twin that wrote it."""
    return dict(cfg.to_dict(), twin=twin.name, interrupted=False)


def keep(path, write):
    """write(path); if that fails (a full disk, a folder removed meanwhile), write(rescue) to a
    file elsewhere instead. [] when written at `path`, else [one line saying where it went]."""
    if not path:
        return []
    try:
        write(path)
        return []
    except FileError as e:
        for folder in (tempfile.gettempdir(), Path.home(), Path.cwd()):
            rescue = Path(folder) / f"{Path(path).stem}.rescued-{os.getpid()}{Path(path).suffix}"
            try:
                write(rescue)
                return [f"{e}; it was saved in {rescue} instead"]
            except FileError:
                continue
        return [f"{e}, nor anywhere else (tried {tempfile.gettempdir()}, your home folder and "
                f"this folder): nothing was saved"]
