"""The hyperparameters both twins share, and the command line built from them.

Every field of `Config` becomes a flag (`batch_size` -> `--batch-size`) with the field's help and
the bound its value must keep, so main_np.py, main_torch.py and compare.py take the same flags
and refuse the same values. A model on a data set may have defaults of its own
(defaults.DEFAULTS, chosen on the data set's validation split): a flag left out takes that
default where there is one, else the field's. Run options that are not hyperparameters (files,
device) are added by the commands.
"""
import argparse
import math
from dataclasses import asdict, dataclass, field, fields

from datasets.augment import DISTORTIONS
from datasets.catalog import DATASETS
from training.defaults import DEFAULTS, defaults

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "float64")
MODELS = ("mlp", "cnn")
LOSSES = ("ce", "mse", "softmax_mse")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")
OUTPUT_INITS = ("he", "zero")


# --- bounds: (holds(value), what the value must be); False for NaN, as every comparison is ----
AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
NOT_NEGATIVE = (lambda v: v >= 0, ">= 0")
POSITIVE_FINITE = (lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
NOT_NEGATIVE_FINITE = (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
BELOW_1 = (lambda v: v < 1, "below 1")
FRACTION = (lambda v: 0 <= v < 1, "in [0, 1)")
WIDTHS = (lambda v: all(h >= 1 for h in v), "positive integers (or one 0: no hidden layer)")
EACH_AT_LEAST_1 = (lambda v: len(v) > 0 and all(c >= 1 for c in v), "positive integers")
EACH_NOT_NEGATIVE = (lambda v: all(p >= 0 for p in v), ">= 0")
EACH_AT_LEAST_1_STRIDE = (lambda v: all(s >= 1 for s in v), ">= 1")


def _opt(default, help, bounds=(), subject=None, **kw):
    """A Config field: its default, its flag's help and argparse options, and the bounds its
    value must keep (checked in order by validate; `subject` names it in the message)."""
    return field(default=default, metadata=dict(help=help, bounds=bounds, subject=subject, **kw))


@dataclass
class Config:
    dataset: str = _opt("mnist", "the data set (see datasets/catalog.py)",
                        choices=tuple(DATASETS))
    model: str = _opt("mlp", "mlp, or cnn: convolutions (conv, ReLU, max-pool each) before the "
                             "fully connected layers", choices=MODELS)
    hidden: tuple = _opt((1024,), "widths of the hidden fully connected layers, e.g. --hidden "
                                  "1024 or --hidden 512 256; --hidden 0: none (an MLP without "
                                  "one is softmax regression)", (WIDTHS,), "--hidden sizes",
                         nargs="+", type=int)
    loss: str = _opt("ce", "training loss: ce (softmax cross-entropy), mse (squared error of "
                           "the scores against the one-hot targets) or softmax_mse (squared "
                           "error of the softmax's probabilities, as the single-neuron "
                           "perceptron's --hidden 1 --loss softmax_mse)", choices=LOSSES)
    activation: str = _opt("relu", "the hidden layers' (and convolutions') activation",
                           choices=ACTIVATIONS)
    batch_norm: bool = _opt(False, "batch norm after every hidden layer and convolution "
                                   "(torch's nn.BatchNorm1d/2d: batch statistics in training, "
                                   "running ones in evaluation)", action=argparse.BooleanOptionalAction)
    dropout: float = _opt(0.0, "dropout rate of every hidden layer (and of a CNN's flattened "
                               "features); the masks come from --seed, the same for both twins",
                          (FRACTION,))
    output_init: str = _opt("he", "the last layer's initial weights: he, or zero (keeps a "
                                  "single hidden unit alive: --hidden 1)", choices=OUTPUT_INITS)
    channels: tuple = _opt((6, 16), "--model cnn: output channels of each convolution",
                           (EACH_AT_LEAST_1,), nargs="+", type=int)
    kernel: int = _opt(5, "--model cnn: kernel size (k x k) of every convolution", (AT_LEAST_1,))
    padding: tuple = _opt((2, 0), "--model cnn: zero padding of each convolution (one value: "
                                  "the same for all)", (EACH_NOT_NEGATIVE,), nargs="+", type=int)
    stride: tuple = _opt((1,), "--model cnn: stride of each convolution (one value: the same for "
                               "all)", (EACH_AT_LEAST_1_STRIDE,), nargs="+", type=int)
    pool: int = _opt(2, "--model cnn: max-pool kernel and stride after each convolution",
                     (AT_LEAST_1,))
    epochs: int = _opt(20, "passes over the training set", (AT_LEAST_1,))
    batch_size: int = _opt(256, "images per minibatch", (AT_LEAST_1,))
    lr: float = _opt(2e-3, "peak learning rate", (POSITIVE_FINITE,))
    schedule: str = _opt("cosine", "learning rate over the steps: constant, or cosine decay "
                                   "from --lr to 0", choices=SCHEDULES)
    warmup: int = _opt(0, "steps of linear learning-rate warm-up before the schedule",
                       (NOT_NEGATIVE,))
    optimizer: str = _opt("adam", "sgd, momentum (SGD, heavy ball), adam, adamw (decoupled "
                                  "weight decay), with torch.optim's exact update rules",
                          choices=OPTIMIZERS)
    momentum: float = _opt(0.9, "momentum of --optimizer momentum",
                           (NOT_NEGATIVE_FINITE, BELOW_1))
    weight_decay: float = _opt(0.0, "L2 weight decay (decoupled for adamw)",
                               (NOT_NEGATIVE_FINITE,))
    label_smoothing: float = _opt(0.1, "train against targets of 1 - s + s/10 for the true "
                                       "class and s/10 for the others, whatever the --loss (0: "
                                       "the one-hot targets)",
                                  (FRACTION,))
    ema: float = _opt(0.999, "evaluate (and save) an exponential moving average of the weights "
                             "with this decay, e.g. 0.999 (0: the weights themselves)",
                      (FRACTION,))
    seed: int = _opt(0, "seed of the initial weights and of the batch order", (NOT_NEGATIVE,))
    dtype: str = _opt("float32", "floating-point type of data, weights and maths", choices=DTYPES)
    augment: bool = _opt(False, "random distortions of every training image (--distortion), "
                                "drawn from --seed per epoch and step (datasets/augment.py)",
                         action=argparse.BooleanOptionalAction)
    distortion: str = _opt("affine", "what --augment draws for each image: affine (rotations up "
                                     "to 12 degrees, scalings 0.9-1.1, shifts up to 2 pixels: for "
                                     "digits), elastic (affine and Simard's elastic field), mirror "
                                     "(a left-right flip half the time and shifts up to 2 pixels: "
                                     "for clothing)", choices=tuple(DISTORTIONS))
    val_size: int = _opt(0, "hold out the last N training images as a validation set "
                            "(for choosing hyperparameters without the test set)",
                         (NOT_NEGATIVE,))

    def __post_init__(self):
        self.hidden = () if tuple(self.hidden) == (0,) else tuple(self.hidden)
        self.channels = tuple(self.channels)
        for name in ("padding", "stride"):         # one value: the same for every convolution
            value = tuple(getattr(self, name))
            setattr(self, name, value * len(self.channels) if len(value) == 1 else value)

    @classmethod
    def for_run(cls, dataset="mnist", model="mlp", **given):
        """The config of `model` on `dataset`: their defaults, overridden by the values given."""
        return cls(**{**defaults(dataset, model), **given, "dataset": dataset, "model": model})

    def sizes(self):
        """Layer widths: (n_inputs, *hidden, n_classes) of the data set, (784, ..., 10) for
        MNIST."""
        spec = DATASETS[self.dataset]
        return (spec.n_inputs, *self.hidden, spec.n_classes)

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def flag(name):
    return "--" + name.replace("_", "-")


def validate(cfg, given=None, resuming=False):
    """The first thing wrong with `cfg` as a sentence, or None: each field against its bounds,
    in the order of the fields; then --distortion against --augment (with `given`, the flags
    of a command line, a --distortion given without --augment even at its default); then, for
    a CNN, each convolution's padding and stride against --channels. resuming: only the fields' bounds, as
    the flags of --resume only repeat its file's values (cli/run.py holds them to those)."""
    for f in fields(Config):
        value = getattr(cfg, f.name)
        for holds, bound in f.metadata["bounds"]:
            if not holds(value):
                got = list(value) if isinstance(value, tuple) else value
                return f"{f.metadata['subject'] or flag(f.name)} must be {bound}, got {got}"
    if resuming:
        return None
    if not cfg.augment and (cfg.distortion != Config.distortion or "distortion" in (given or ())):
        return f"--distortion {cfg.distortion} needs --augment (without it no image is distorted)"
    # a CNN's layers against each other only for a CNN: an MLP's are idle (idle_flags names
    # the flags given), and their defaults must not be blamed for a --channels given
    for name in ("padding", "stride") if cfg.model == "cnn" else ():
        value = getattr(cfg, name)
        if len(value) != len(cfg.channels):
            default = " (the default, for two)" if value == Config.padding else ""
            return (f"--{name} takes one value, or one per convolution ({len(cfg.channels)}, "
                    f"from --channels), got {list(value)}{default}")
    return None


def build_parser(description):
    """An ArgumentParser with one flag per Config field. A flag left out is None:
    config_from_args fills in the default of the data set and model."""
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    for f in fields(Config):
        kw = {k: v for k, v in f.metadata.items() if k not in ("bounds", "subject")}
        if "action" not in kw:
            kw.setdefault("type", type(f.default))
        kw["help"] += f" (default: {'; '.join(defaults_said(f))})"
        parser.add_argument(flag(f.name), default=None, **kw)
    return parser


def defaults_said(f):
    """Field f's defaults for --help: its own, then each data set's and model's where it differs
    from the one that would apply without it. A CNN's layer has no MLP default: its first is
    the CNN's (what the MLP's files record is not a default anyone can use)."""
    model_default = lambda model: DEFAULTS.get(("*", model), {}).get(f.name, f.default)
    own = model_default("cnn") if f.name in CNN_ONLY else f.default
    said = [shown(own)]
    for (dataset, model), d in DEFAULTS.items():
        without = model_default(model) if dataset != "*" else own
        if f.name in d and d[f.name] != without:
            said.append(f"{dataset if dataset != '*' else ''}/{model}".strip("/") + ": "
                        + shown(d[f.name]))
    return said


def shown(value):
    """A field's value as a command line gives it: "8 16" for a tuple or list."""
    return " ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def given_values(args):
    """{field: value} of the hyperparameter flags given on the command line (not the data set
    and model, which choose the defaults)."""
    return {k: v for k, v in args.explicit.items() if k not in ("dataset", "model")}


def config_from_args(parser, args):
    """Config from parsed args; a bad value exits with code 2 and an argparse-style message.
    Records the flags given in args.explicit ({field: value}, the data set and model too) and
    fills in args.dataset and args.model."""
    args.explicit = {f.name: getattr(args, f.name) for f in fields(Config)
                     if getattr(args, f.name) is not None}
    args.dataset, args.model = args.dataset or Config.dataset, args.model or Config.model
    cfg = Config.for_run(args.dataset, args.model, **given_values(args))
    resuming = bool(getattr(args, "resume", None))
    problem = validate(cfg, args.explicit, resuming)
    # idle flags: not for --resume (its file decides) nor compare.py --models (its flags reach
    # every row: --channels the CNNs', --hidden the MLPs')
    if not problem and not resuming and getattr(args, "models", None) is None:
        problem = idle_flags(cfg, args.explicit, bool(getattr(args, "load", None)))
    if problem:
        parser.error(problem)
    return cfg


CNN_ONLY = ("channels", "kernel", "padding", "stride", "pool")
HIDDEN_ONLY = ("batch_norm", "dropout", "activation")


def idle_flags(cfg, given, shape_from_file=False):
    """The flags given that would change nothing in cfg's run, as a sentence, or None: a CNN's
    layers for an MLP; batch norm, dropout, an activation for an MLP without a hidden layer
    (softmax regression); --momentum for an optimizer without momentum. shape_from_file: a
    --load file decides the model, so the model's own flags are left to it."""
    idle = []
    if cfg.model == "mlp" and not shape_from_file:
        idle += [(k, "--model mlp") for k in CNN_ONLY if k in given]
        if not cfg.hidden:
            idle += [(k, "an MLP without a hidden layer") for k in HIDDEN_ONLY
                     if k in given and given[k] not in (False, 0, 0.0, "relu")]
    if "momentum" in given and cfg.optimizer != "momentum":
        idle += [("momentum", f"--optimizer {cfg.optimizer}")]
    if not idle:
        return None
    reasons = dict.fromkeys(why for _, why in idle)        # in order, each once
    said = "; ".join(" ".join(flag(k) for k, w in idle if w == why)
                     + " would do nothing" * (i == 0) + f" for {why}"
                     for i, why in enumerate(reasons))
    return f"{said}: leave {'it' if len(idle) == 1 else 'them'} out"
