"""Train one twin from the command line: main_np.py and main_torch.py are `main` with a twin's
name. Flags, starting the run, training it, saving what it made, and errors in one line.

Exit codes: 0 done; 1 a data, file or run problem (one line on stderr); 2 a bad flag
(argparse-style); 130 interrupted by Ctrl-C (history and weights so far are saved).
Importing this module imports neither twin: the NumPy path never imports torch.
"""
import os
import sys

from datasets.base import DataError
from datasets.catalog import load as load_dataset
from storage.atomic import FileError, check_writable, write_json
from training import config, diagnosis, loop, models, weights_file
from training.schedule import total_steps_of
from training.start import RunError, initial_params, resumed
from twins import load_twin
from twins.base import TwinError

# The errors a command reports in one line, exit 1.
ERRORS = (RunError, DataError, FileError, models.ModelError, TwinError)


def add_run_flags(parser, weights=True):
    """The flags that are not hyperparameters: files, device, threads."""
    parser.add_argument("--data-dir", help="folder of the data set's files, and only it (else "
                                           "$MNIST_DIR, $FASHION_MNIST_DIR or $KAGGLE_DIR, "
                                           "then data/...; MNIST and Fashion-MNIST are "
                                           "downloaded there if missing)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="cuda: torch on the GPU, the NumPy twin through CuPy")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="CPU threads for the matrix products of both twins")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    if weights:
        parser.add_argument("--save", metavar="PATH", help="save the trained weights (.npz)")
        parser.add_argument("--load", metavar="PATH", help="start from these weights (.npz, "
                                                           "from either twin)")
        parser.add_argument("--resume", metavar="FILE",
                            help="continue the run saved in FILE (by --save, at its end or at "
                                 "Ctrl-C) from the step it reached, with its hyperparameters, "
                                 "optimizer state and weight average; --epochs may raise the "
                                 "total. Either twin resumes either's file. Saves back to FILE "
                                 "unless --save is given")
        parser.add_argument("--eval", action="store_true",
                            help="only evaluate the --load weights on the test set")
        parser.add_argument("--history", metavar="PATH", help="per-epoch metrics and every "
                                                              "step's loss as JSON")
    return parser


def parse(description, argv=None, weights=True):
    """(parser, Config, args) from the command line; a bad value exits 2 in one line."""
    parser = add_run_flags(config.build_parser(description), weights)
    args = parser.parse_args(argv)
    cfg = config.config_from_args(parser, args)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    for flag in ("save", "history"):
        path = getattr(args, flag, None)
        if path:
            try:
                check_writable(path)
            except FileError as e:
                parser.error(f"--{flag}: {e}")
    if getattr(args, "eval", False) and not args.load:
        parser.error("--eval needs --load PATH")
    if getattr(args, "resume", None):
        if args.load or args.eval:
            parser.error("--resume continues a run; it takes neither --load nor --eval")
        changed = sorted(config.flag(k) for k in config.given_values(args) if k != "epochs")
        if changed:
            parser.error(f"--resume continues the saved run with its own hyperparameters: "
                         f"{', '.join(changed)} cannot change (--epochs may raise the total)")
        args.save = args.save or args.resume
    return parser, cfg, args


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
        resume = None
        if args.resume:
            params, cfg, resume = resumed(args.resume, args.epochs)
        else:
            params, cfg = initial_params(cfg, args.load)
        twin = load_twin(twin_name, args.device, args.threads)
        dataset = load_dataset(cfg.dataset, args.data_dir, cfg.dtype, cfg.val_size)
        if cfg.batch_size > len(dataset.y_train):
            parser.error(f"--batch-size {cfg.batch_size} is larger than the "
                         f"{len(dataset.y_train)} training images")
        total_steps = total_steps_of(cfg, len(dataset.y_train))
        if resume and resume["step"] >= total_steps:
            raise RunError(f"the run saved in {args.resume} has finished its {cfg.epochs} "
                           f"epochs; give --epochs above {cfg.epochs} to train on")
        model = models.build(twin, cfg, params)
        warn(dataset)
        if args.eval:
            loss, acc = loop.evaluate(twin, model, twin.asarray(dataset.x_test),
                                      twin.asarray(dataset.y_test))
            print(f"{twin_name} on {twin.device}: test loss {loss:.4f}  test acc "
                  f"{100 * acc:.2f}%")
            return 0
        return train_and_save(twin, model, dataset, cfg, args, resume, total_steps)
    except ERRORS as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def train_and_save(twin, model, dataset, cfg, args, resume, total_steps):
    """Train, judge the run, write its history and weights; the exit code."""
    label = f"{twin.name}/{twin.device}"
    if resume:
        print(f"{label}: resuming {args.resume} at step {resume['step']} of {total_steps}")
    print(f"{label}: {dataset.spec.title}, {models.describe(cfg)}, {cfg.optimizer} lr {cfg.lr} "
          f"({cfg.schedule}), batch {cfg.batch_size}, {cfg.epochs} epochs, label smoothing "
          f"{cfg.label_smoothing:g}, weight average {cfg.ema:g}, {cfg.dtype}, "
          f"{args.threads} threads; data from {dataset.source}")
    checkpoint = {}
    try:
        with loop.ctrl_c_stops_between_steps():
            history = loop.train(twin, model, dataset, cfg, label, not args.no_progress,
                                 resume=resume, checkpoint=checkpoint)
    except loop.Diverged as e:
        return fail(f"training diverged: {e}. Try a lower learning rate "
                    f"(--lr {cfg.lr / 10:g}); no weights were saved")
    history.update(twin=twin.name, device=twin.device, threads=args.threads)
    failed = not history["interrupted"] and diagnosis.at_chance(history, dataset, cfg)
    if failed:
        return fail(failed)
    if args.history:
        write_json(args.history, history)
    if args.save:
        weights_file.save_weights(args.save, twin.export(model), dict(
            cfg.to_dict(), twin=twin.name, interrupted=history["interrupted"]), checkpoint)
    if history["interrupted"]:
        saved = [p for p in (args.history, args.save) if p]
        print(f"interrupted: saved {', '.join(saved) if saved else 'nothing (no --save/--history)'}")
        return 130
    last, held_out = history["epochs"][-1], history["held_out"]
    print(f"{label}: final {held_out} accuracy {100 * last[f'{held_out}_acc']:.2f}% "
          f"after {history['train_seconds']:.1f} s of training")
    return 0
