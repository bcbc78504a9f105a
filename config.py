"""The hyperparameters both twins share, and the command line built from them.

Every field of `Config` becomes a flag (`batch_size` -> `--batch-size`) with the field's help,
so main_np.py, main_torch.py and compare.py take the same flags. A model on a data set may have
defaults of its own (DEFAULTS, chosen on the data set's validation split): a flag left out
takes that default where there is one, else the field's. Run options that are not
hyperparameters (files, device) are added by `build_parser`'s callers.
"""
import argparse
import math
from dataclasses import asdict, dataclass, field, fields

import data

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "float64")
MODELS = ("mlp", "cnn")
LOSSES = ("ce", "mse")


def _opt(default, help, **kw):
    return field(default=default, metadata=dict(help=help, **kw))


@dataclass
class Config:
    dataset: str = _opt("mnist", "the data set (see data.py)", choices=tuple(data.DATASETS))
    model: str = _opt("mlp", "mlp, or cnn: convolutions (conv, ReLU, max-pool each) before the "
                             "fully connected layers", choices=MODELS)
    hidden: tuple = _opt((1024,), "widths of the hidden fully connected layers, e.g. --hidden "
                                  "1024 or --hidden 512 256; --hidden 0: none (an MLP without "
                                  "one is softmax regression)", nargs="+", type=int)
    loss: str = _opt("ce", "training loss: ce (softmax cross-entropy) or mse (squared error "
                           "against the one-hot targets, as the single-neuron perceptron of "
                           "--hidden 1 --loss mse)", choices=LOSSES)
    channels: tuple = _opt((6, 16), "--model cnn: output channels of each convolution",
                           nargs="+", type=int)
    kernel: int = _opt(5, "--model cnn: kernel size (k x k) of every convolution")
    padding: tuple = _opt((2, 0), "--model cnn: zero padding of each convolution (one value: "
                                  "the same for all)", nargs="+", type=int)
    stride: tuple = _opt((1,), "--model cnn: stride of each convolution (one value: the "
                                 "same for all)", nargs="+", type=int)
    pool: int = _opt(2, "--model cnn: max-pool kernel and stride after each convolution")
    epochs: int = _opt(20, "passes over the training set")
    batch_size: int = _opt(256, "images per minibatch")
    lr: float = _opt(2e-3, "peak learning rate")
    schedule: str = _opt("cosine", "learning rate over the steps: constant, or cosine decay "
                                   "from --lr to 0", choices=SCHEDULES)
    warmup: int = _opt(0, "steps of linear learning-rate warm-up before the schedule")
    optimizer: str = _opt("adam", "sgd, momentum (SGD, heavy ball), adam, adamw (decoupled "
                                  "weight decay), with torch.optim's exact update rules",
                          choices=OPTIMIZERS)
    momentum: float = _opt(0.9, "momentum of --optimizer momentum")
    weight_decay: float = _opt(0.0, "L2 weight decay (decoupled for adamw)")
    label_smoothing: float = _opt(0.1, "train against targets of 1 - s + s/10 for the true "
                                       "class and s/10 for the others (0: plain cross-entropy)")
    ema: float = _opt(0.999, "evaluate (and save) an exponential moving average of the weights "
                           "with this decay, e.g. 0.999 (0: the weights themselves)")
    seed: int = _opt(0, "seed of the initial weights and of the batch order")
    dtype: str = _opt("float32", "floating-point type of data, weights and maths", choices=DTYPES)
    val_size: int = _opt(0, "hold out the last N training images as a validation set "
                            "(for choosing hyperparameters without the test set)")

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
        spec = data.DATASETS[self.dataset]
        return (spec.n_inputs, *self.hidden, spec.n_classes)

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def validate(cfg):
    """The first thing wrong with `cfg` as a sentence, or None."""
    if any(h < 1 for h in cfg.hidden):
        return (f"--hidden sizes must be positive integers (or one 0: no hidden layer), got "
                f"{list(cfg.hidden)}")
    if not cfg.channels or any(c < 1 for c in cfg.channels):
        return f"--channels must be positive integers, got {list(cfg.channels)}"
    for name in ("padding", "stride"):
        value = getattr(cfg, name)
        if len(value) != len(cfg.channels):
            default = " (the default, for two)" if value == Config.padding else ""
            return (f"--{name} takes one value, or one per convolution ({len(cfg.channels)}, "
                    f"from --channels), got {list(value)}{default}")
        if min(value) < (1 if name == "stride" else 0):
            return f"--{name} must be {'>= 1' if name == 'stride' else '>= 0'}, got {list(value)}"
    for name in ("kernel", "pool"):
        if getattr(cfg, name) < 1:
            return f"--{name} must be at least 1, got {getattr(cfg, name)}"
    if cfg.epochs < 1:
        return f"--epochs must be at least 1, got {cfg.epochs}"
    if cfg.batch_size < 1:
        return f"--batch-size must be at least 1, got {cfg.batch_size}"
    for name in ("lr", "momentum", "weight_decay"):
        value = getattr(cfg, name)
        if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
            bound = "a finite number > 0" if name == "lr" else "a finite number >= 0"
            return f"--{name.replace('_', '-')} must be {bound}, got {value}"
    if cfg.momentum >= 1:
        return f"--momentum must be below 1, got {cfg.momentum}"
    for name in ("label_smoothing", "ema"):
        value = getattr(cfg, name)
        if not (0 <= value < 1):                  # also false for NaN
            return f"--{name.replace('_', '-')} must be in [0, 1), got {value}"
    if cfg.warmup < 0:
        return f"--warmup must be >= 0, got {cfg.warmup}"
    if cfg.val_size < 0:
        return f"--val-size must be >= 0, got {cfg.val_size}"
    return None


def build_parser(description):
    """An ArgumentParser with one flag per Config field. A flag left out is None (the dataset
    flag excepted): config_from_args fills in the data set's default."""
    parser = argparse.ArgumentParser(description=description)
    for f in fields(Config):
        kw = dict(f.metadata)
        kw.setdefault("type", type(f.default))
        kw["help"] += f" (default: {_shown(f.default)}" + "".join(
            f"; {'/'.join(n for n in key if n != '*')}: {_shown(d[f.name])}"
            for key, d in DEFAULTS.items() if f.name in d) + ")"
        default = f.default if f.name in ("dataset", "model") else None
        parser.add_argument("--" + f.name.replace("_", "-"), default=default, **kw)
    return parser


def _shown(value):
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def given_values(args):
    """{field: value} of the hyperparameter flags given on the command line (not the data set
    and model, which choose the defaults)."""
    return {f.name: getattr(args, f.name) for f in fields(Config)
            if getattr(args, f.name) is not None and f.name not in ("dataset", "model")}


def config_from_args(parser, args):
    """Config from parsed args; a bad value exits with code 2 and an argparse-style message."""
    cfg = Config.for_run(args.dataset, args.model, **given_values(args))
    problem = validate(cfg)
    if problem:
        parser.error(problem)
    return cfg


def lr_at(cfg, step, total_steps):
    """Learning rate of step `step` (0-based) of `total_steps`: the one schedule both twins use."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    progress = (step - cfg.warmup) / max(1, total_steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


# (data set, model) -> the defaults that differ from the field defaults above (MNIST's MLP's);
# ("*", model): a model's on every data set. The data sets' were chosen by tune.py on their
# validation splits (README: How the defaults were chosen): the CNN's searched around LeNet-5's
# shape (two 5x5 convolutions, the first padded by 2, each with a 2x2 max-pool).
DEFAULTS = {
    ("fashion-mnist", "mlp"): dict(hidden=(512, 512), optimizer="adamw", weight_decay=0.1,
                                   epochs=30),
    ("lines", "mlp"): dict(hidden=(64,), epochs=10, batch_size=64, label_smoothing=0.0, ema=0.0),
    ("*", "cnn"): dict(channels=(8, 16), hidden=(128,)),
}


def defaults(dataset, model):
    """The defaults of `model` on `dataset` that differ from the field defaults."""
    return {**DEFAULTS.get(("*", model), {}), **DEFAULTS.get((dataset, model), {})}


# The weight average moves once every EMA_EVERY steps, by the decay of that many steps. Its
# update reads and writes every weight three times in NumPy (torch's lerp: once), and the
# weights of four neighbouring steps differ little: this costs a quarter and changes nothing
# that the validation accuracy can see.
EMA_EVERY = 4


def ema_decay_at(cfg, step):
    """Decay of the weight average over the EMA_EVERY steps ending at step `step` (0-based):
    cfg.ema per step, ramped up from 0.1 as tf.train.ExponentialMovingAverage does with
    num_updates, so that the average forgets the random initial weights within the first
    few hundred steps instead of a few thousand."""
    return min(cfg.ema, (1 + step) / (10 + step)) ** EMA_EVERY
