"""What main_np.py and main_torch.py share: flags, loading a twin, errors and exit codes.

Exit codes: 0 done; 1 a data, file or run problem (one line on stderr); 2 a bad flag
(argparse-style); 130 interrupted by Ctrl-C (history and weights so far are saved).
Importing this module imports neither twin: the NumPy path never imports torch.
"""
import os
import sys
from dataclasses import replace

# OpenBLAS's idle threads spin after each matrix product, on the cores that the NumPy twin's
# optimizer thread needs next (and torch's threads, where both twins share a process): let them
# sleep at once. Measured on 2 cores: a NumPy training step 7% faster; a product that took
# 0.05 ms alone took 4 ms when NumPy and torch alternated. It costs about 12 microseconds per
# product. It must be set before NumPy is loaded: entry points import this module first.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def keep_freed_memory():
    """Let glibc's malloc keep freed blocks for reuse. By default an array over a few MB is
    mmap'ed from the kernel and handed back when freed, so the next step's array of the same
    size starts as untouched pages, faulted in one 4 KiB page at a time: 30% of a NumPy CNN
    step (its im2col columns are 20 MB). Held memory stays bounded by the largest step's
    working set. A no-op where the C library is not glibc."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)              # M_MMAP_MAX: every block comes from the heap
        libc.mallopt(-1, 1 << 30)        # M_TRIM_THRESHOLD: and is not handed back
    except (OSError, AttributeError):
        pass


keep_freed_memory()

import numpy as np  # noqa: E402

import config  # noqa: E402
import data
import files
import models
import train

TWINS = ("numpy", "torch")


class RunError(Exception):
    """A problem to report in one line and exit 1."""


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
    """(Config, args) from the command line; a bad value exits 2 with a one-line message."""
    parser = add_run_flags(config.build_parser(description), weights)
    args = parser.parse_args(argv)
    cfg = config.config_from_args(parser, args)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    for flag in ("save", "history"):
        path = getattr(args, flag, None)
        if path:
            try:
                files.check_writable(path)
            except files.FileError as e:
                parser.error(f"--{flag}: {e}")
    if getattr(args, "eval", False) and not args.load:
        parser.error("--eval needs --load PATH")
    if getattr(args, "resume", None):
        if args.load or args.eval:
            parser.error("--resume continues a run; it takes neither --load nor --eval")
        changed = sorted(f"--{k.replace('_', '-')}" for k in config.given_values(args)
                         if k != "epochs")
        if changed:
            parser.error(f"--resume continues the saved run with its own hyperparameters: "
                         f"{', '.join(changed)} cannot change (--epochs may raise the total)")
        args.save = args.save or args.resume
    return parser, cfg, args


def resumed(path, epochs=None):
    """(trained weights, Config, checkpoint) of the run saved in `path`, to go on to `epochs`
    epochs (None: the run's own). RunError if there is nothing left to train."""
    checkpoint, saved = files.load_checkpoint(path)
    fields = config.Config().to_dict()
    cfg = config.Config(**{k: v for k, v in saved.items() if k in fields})
    if epochs is not None and epochs < cfg.epochs:
        raise RunError(f"--epochs {epochs} is below the {cfg.epochs} epochs of the run saved "
                       f"in {path}; --resume can only raise the total")
    cfg = replace(cfg, epochs=epochs or cfg.epochs)
    params = {k: v.astype(cfg.dtype) for k, v in checkpoint["weights"].items()}
    return params, cfg, checkpoint


def load_twin(name, device, threads, cfg=None):
    """(twin module, build(params) -> network of cfg's model, device actually used) for
    'numpy' or 'torch'; the twin module holds the optimizers and the weight average.

    CUDA asked of the NumPy twin runs it through CuPy; RunError where that cannot be done."""
    from threadpoolctl import threadpool_limits
    cfg = cfg or config.Config()
    if name == "numpy":
        import mlp_np
        import numpy
        mlp_np.set_num_threads(threads)
        threadpool_limits(threads)
        if device == "cuda":
            return mlp_np, models.builder(name, cfg, cuda_array_module()), "cuda"
        return mlp_np, models.builder(name, cfg, numpy), "cpu"
    import torch
    import mlp_torch
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    # Subnormal floats as 0, as the NumPy twin's Adam does by hand (see mlp_np.flush_subnormals).
    torch.set_flush_denormal(True)
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RunError("--device cuda: torch sees no CUDA GPU on this machine; use --device cpu")
        # Full float32 matrix products, not TF32, so the twins can be held side by side.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return mlp_torch, models.builder(name, cfg, device), device


def cuda_array_module():
    """CuPy, or RunError saying why the NumPy twin cannot run on the GPU."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RunError("--device cuda: CuPy sees no CUDA GPU on this machine")
    except ImportError:
        raise RunError("--device cuda: the NumPy twin needs CuPy on the GPU (pip install "
                       "cupy-cuda12x), which is not installed")
    except Exception as e:
        if isinstance(e, RunError):
            raise
        raise RunError(f"--device cuda: CuPy cannot reach a GPU ({e})")
    return cupy


def initial_params(cfg, load_path):
    """(weights to start from, cfg): He init, or the --load file, whose weights and recorded
    structure decide the model, its widths and (a CNN's) convolutions."""
    if not load_path:
        try:
            return models.init_params(cfg), cfg
        except ValueError as e:
            raise RunError(str(e))
    params, saved = files.load_weights(load_path)
    warning = files.check_fits(load_path, params, saved, data.DATASETS[cfg.dataset])
    if warning:
        print(warning, file=sys.stderr)
    params = {k: v.astype(cfg.dtype) for k, v in params.items()}
    n_convs, n_layers = (sum(1 for k in params if k.startswith(p)) for p in "CW")
    structure = dict(hidden=tuple(params[f"W{i}"].shape[0] for i in range(1, n_layers)),
                     model="cnn" if n_convs else "mlp")
    if n_convs:
        structure.update(channels=tuple(params[f"C{j}"].shape[0] for j in range(1, n_convs + 1)),
                         kernel=params["C1"].shape[-1],
                         **{k: tuple(saved[k]) for k in ("padding", "stride")}, pool=saved["pool"])
    return params, config.Config(**{**cfg.to_dict(), **structure})


def at_chance(history, dataset, cfg):
    """The one-line verdict on a finished run that learnt nothing (held-out accuracy within
    2 points of always answering the most common class), or None."""
    held_out = history["held_out"]
    accuracy = history["epochs"][-1][f"{held_out}_acc"]
    y = dataset.y_val if held_out == "val" else dataset.y_test
    chance = float(np.bincount(y).max() / len(y))
    if accuracy > chance + 0.02:
        return None
    return (f"training failed: the final {held_out} accuracy {100 * accuracy:.2f}% is at chance "
            f"level (always answering the most common class scores {100 * chance:.2f}%). Try "
            f"a lower learning rate (--lr {cfg.lr / 10:g}); no weights were saved")


def fail(message, code=1):
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
        twin, build, device = load_twin(twin_name, args.device, args.threads, cfg)
        dataset = data.load(cfg.dataset, args.data_dir, cfg.dtype, cfg.val_size)
        if cfg.batch_size > len(dataset.y_train):
            parser.error(f"--batch-size {cfg.batch_size} is larger than the "
                         f"{len(dataset.y_train)} training images")
        total_steps = train.total_steps_of(cfg, len(dataset.y_train))
        if resume and resume["step"] >= total_steps:
            raise RunError(f"the run saved in {args.resume} has finished its {cfg.epochs} "
                           f"epochs; give --epochs above {cfg.epochs} to train on")
        model = build(params)
        if args.eval:
            loss, acc = train.evaluate(model, model.asarray(dataset.x_test),
                                       model.asarray(dataset.y_test))
            print(f"{twin_name} on {device}: test loss {loss:.4f}  test acc {100 * acc:.2f}%")
            return 0
        label = f"{twin_name}/{device}"
        if resume:
            print(f"{label}: resuming {args.resume} at step {resume['step']} of {total_steps}")
        print(f"{label}: {dataset.spec.title}, {models.describe(cfg)}, "
              f"{cfg.optimizer} lr {cfg.lr} "
              f"({cfg.schedule}), batch {cfg.batch_size}, {cfg.epochs} epochs, label smoothing "
              f"{cfg.label_smoothing:g}, weight average {cfg.ema:g}, {cfg.dtype}, "
              f"{args.threads} threads; data from {dataset.source}")
        checkpoint = {}
        try:
            with train.ctrl_c_stops_between_steps():
                history = train.train(twin, model, dataset, cfg, label, not args.no_progress,
                                      resume=resume, checkpoint=checkpoint)
        except train.Diverged as e:
            return fail(f"training diverged: {e}. Try a lower learning rate "
                        f"(--lr {cfg.lr / 10:g}); no weights were saved")
        history.update(twin=twin_name, device=device, threads=args.threads)
        failed = not history["interrupted"] and at_chance(history, dataset, cfg)
        if failed:
            return fail(failed)
        if args.history:
            files.write_json(args.history, history)
        if args.save:
            files.save_weights(args.save, model.params(), dict(
                cfg.to_dict(), twin=twin_name, interrupted=history["interrupted"]), checkpoint)
        if history["interrupted"]:
            saved = [p for p in (args.history, args.save) if p]
            print(f"interrupted: saved {', '.join(saved) if saved else 'nothing (no --save/--history)'}")
            return 130
        last = history["epochs"][-1]
        held_out = history["held_out"]
        print(f"{label}: final {held_out} accuracy {100 * last[f'{held_out}_acc']:.2f}% "
              f"after {history['train_seconds']:.1f} s of training")
        return 0
    except (RunError, data.DataError, files.FileError) as e:
        return fail(str(e))
    except KeyboardInterrupt:
        return fail("interrupted", 130)
