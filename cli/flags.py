"""The flags of a twin's command line that are not hyperparameters, and the rules that hold
between flags and the files that decide what a flag would: every flag either counts or is
refused by name, none is ignored.

Exit 2 (argparse-style, one line) for a flag that cannot hold; the callers check the flags
against the data and files before any training or memory estimate.
"""
import os
from dataclasses import replace

from nets.threads import thread_count
from storage.atomic import FileError, check_writable
from training import config

# Hyperparameters that only steer training: meaningless for --eval.
TRAINING_ONLY = ("epochs", "batch_size", "lr", "schedule", "warmup", "optimizer", "momentum",
                 "weight_decay", "label_smoothing", "ema", "seed", "val_size", "dropout",
                 "augment", "distortion")


def add_run_flags(parser, weights=True):
    """The flags that are not hyperparameters: files, device, threads."""
    parser.add_argument("--data-dir", help="folder of the data set's files, and only it (else "
                                           "$MNIST_DIR, $FASHION_MNIST_DIR or $KAGGLE_DIR, "
                                           "then data/...; MNIST and Fashion-MNIST are "
                                           "downloaded there if missing)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="cuda: torch on the GPU, the NumPy twin through CuPy")
    parser.add_argument("--threads", type=thread_count, default=len(os.sched_getaffinity(0)),
                        help="CPU threads for the matrix products of both twins")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    if weights:
        parser.add_argument("--save", metavar="PATH", help="save the trained weights (.npz)")
        parser.add_argument("--load", metavar="PATH", help="start from these weights (.npz, "
                                                           "from either twin)")
        parser.add_argument("--resume", metavar="FILE",
                            help="continue the run saved in FILE (by --save, at its end, at "
                                 "Ctrl-C or SIGTERM, or by --checkpoint-every) from the step it "
                                 "reached, with its hyperparameters, optimizer state and weight "
                                 "average; --epochs may raise the total, and a flag equal to the "
                                 "saved value may be repeated. Either twin resumes either's "
                                 "file. Saves back to FILE unless --save is given")
        parser.add_argument("--checkpoint-every", type=int, metavar="N",
                            help="also save (weights and checkpoint, atomically, over the "
                                 "--save file) after every N-th epoch, so that a run killed "
                                 "without warning resumes from there")
        parser.add_argument("--eval", action="store_true",
                            help="only evaluate the --load weights on the test set")
        parser.add_argument("--history", metavar="PATH", help="per-epoch metrics and every "
                                                              "step's loss as JSON")
    return parser


def parse(description, argv=None):
    """(parser, Config, args) of a twin's command line; a bad flag exits 2 in one line. The
    flags given are in args.explicit ({field: value})."""
    parser = add_run_flags(config.build_parser(description))
    args = parser.parse_args(argv)
    cfg = config.config_from_args(parser, args)
    check_outputs(parser, args, ("save", "history"))
    if args.eval:
        if not args.load:
            parser.error("--eval needs --load PATH")
        ignored = [config.flag(k) for k in args.explicit if k in TRAINING_ONLY]
        ignored += [f"--{f.replace('_', '-')}" for f in ("save", "history", "checkpoint_every")
                    if getattr(args, f)]
        if ignored:
            parser.error(f"--eval only evaluates the --load weights: {', '.join(ignored)} "
                         f"would do nothing; leave {'it' if len(ignored) == 1 else 'them'} out")
    if args.resume:
        if args.load or args.eval:
            parser.error("--resume continues a run; it takes neither --load nor --eval")
        args.save = args.save or args.resume
    if args.checkpoint_every is not None:
        if args.checkpoint_every < 1:
            parser.error(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
        if not args.save:
            parser.error("--checkpoint-every saves over the --save file: give --save PATH")
    return parser, cfg, args


def check_outputs(parser, args, flags):
    """Exit 2 now, before any training, if a file the run will write cannot be written (a
    folder, a missing or read-only folder) or two flags name the same file."""
    paths = {}
    for flag in flags:
        path = getattr(args, flag, None)
        if not path:
            continue
        try:
            check_writable(path)
        except FileError as e:
            parser.error(f"--{flag.replace('_', '-')}: {e}")
        same = paths.setdefault(os.path.realpath(path), flag)
        if same != flag:
            parser.error(f"--{same} and --{flag} name the same file {path}: each needs its own")


def refuse_changes(parser, decided, given, lead, hint):
    """Exit 2 if a flag given ({field: value}) differs from what a file decided it is
    (`decided`, a Config), naming both values; a flag equal to it is accepted. The message:
    "{lead}: --flag X differs from its Y, ...; {hint}"."""
    wanted = replace(decided, **given)            # normalised as the flags' own values are
    changed = [f"{config.flag(k)} {shown(getattr(wanted, k))} differs from its "
               f"{shown(getattr(decided, k))}" for k in given
               if getattr(wanted, k) != getattr(decided, k)]
    if changed:
        parser.error(f"{lead}: {', '.join(changed)}; {hint}")


def shown(value):
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
