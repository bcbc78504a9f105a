"""What a weights file records beside its arrays, checked when it is read: the JSON `config` of
every file (each field's type and allowed values: the bounds and choices of training.config's
fields) and a checkpoint's JSON record (step, optimizer_step, history), so that a file edited or
damaged by hand is refused in one line naming the file and the field (FileError), before any
network is built or any step trained from it, instead of a traceback later or a run that
trains on nonsense.

A field a file does not record is not checked here: older files lack some, and their readers
take the defaults (the data set MNIST, the activation ReLU, ...).
"""
import json
import math
from dataclasses import fields, replace

from storage.atomic import FileError
from training.config import NOT_NEGATIVE, Config, validate

# The twins that write weights files (twins.TWINS; cli.run.saved_config records the writer's
# name under `twin`, the page shows it).
TWINS = ("numpy", "torch")

# Bounds a file's value must keep beyond the field's own: the seeds of NumPy's generators.
EXTRA_BOUNDS = {"seed": (NOT_NEGATIVE,)}

# The optimizer state each optimizer keeps in a checkpoint (twins.base.Twin.optimizer_state),
# and whether it counts its steps (`optimizer_step`, Adam's t).
OPTIMIZER_STATE = {"sgd": (), "momentum": ("momentum_buffer",),
                   "adam": ("exp_avg", "exp_avg_sq"), "adamw": ("exp_avg", "exp_avg_sq")}
COUNTS_STEPS = ("adam", "adamw")


def shown(value, limit=60):
    """A value as the file holds it (JSON: null, true, "text"), cut short if long."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# The kind of value each type of Config field takes in a file: (holds, what it must be).
KINDS = {bool: (lambda v: isinstance(v, bool), "true or false"),
         int: (is_int, "an integer"),
         float: (is_number, "a number"),
         str: (lambda v: isinstance(v, str), "text"),
         tuple: (lambda v: isinstance(v, list) and all(map(is_int, v)), "a list of integers")}


def refuse(path, where, name, must, value):
    raise FileError(f"{path}: its {where}'s {name} must be {must}, got {shown(value)}")


def check_config(path, config):
    """FileError unless `config` (a weights file's recorded config, parsed) is a JSON object
    whose fields, those it records, each hold a value the field takes: its kind (an integer, a
    list of integers, ...), one of its choices (a known data set, activation, loss, ...) and
    within its bounds (a stride and a pool of at least 1, a padding >= 0, ...); and the twin
    that wrote it, if it says, a known one."""
    if not isinstance(config, dict):
        raise FileError(f"{path}: its config must be a JSON object of settings, got "
                        f"{shown(config)}")
    for f in fields(Config):
        if f.name not in config:
            continue
        value = config[f.name]
        holds, kind = KINDS[type(f.default)]
        if not holds(value):
            refuse(path, "config", f.name, kind, value)
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            if f.name == "dataset":
                raise FileError(f"{path}: its config's dataset is {value!r}, a data set this "
                                f"project does not know ({', '.join(choices)})")
            refuse(path, "config", f.name, f"one of {', '.join(choices)}", value)
        normalised = getattr(replace(Config(), **{f.name: value}), f.name) \
            if f.name == "hidden" else value              # [0]: no hidden layer, as --hidden 0
        for holds, bound in f.metadata["bounds"] + EXTRA_BOUNDS.get(f.name, ()):
            if not holds(normalised):
                refuse(path, "config", f.name, bound, value)
    if "twin" in config and config["twin"] not in TWINS:
        refuse(path, "config", "twin", f"one of {', '.join(TWINS)}", config["twin"])
    if "interrupted" in config and not isinstance(config["interrupted"], bool):
        refuse(path, "config", "interrupted", "true or false", config["interrupted"])


def check_record(path, record):
    """FileError unless a checkpoint's JSON record holds what resuming reads: the step reached
    and Adam's step count (integers >= 0; the latter may be null), and the history so far (every
    epoch's record, every step's loss, the training seconds)."""
    if not isinstance(record, dict):
        raise FileError(f"{path}: its checkpoint record must be a JSON object, got "
                        f"{shown(record)}")
    for name, may_be_null in (("step", False), ("optimizer_step", True)):
        value = record.get(name)
        if not (is_int(value) and value >= 0 or value is None and may_be_null):
            refuse(path, "checkpoint", name, "an integer >= 0", value)
    history = record.get("history")
    if not isinstance(history, dict):
        refuse(path, "checkpoint", "history", "an object of epochs, step_losses and "
                                              "train_seconds", history)
    epochs, losses, seconds = (history.get(k) for k in ("epochs", "step_losses",
                                                        "train_seconds"))
    if not (isinstance(epochs, list) and all(isinstance(e, dict) and all(map(is_number,
                                                                             e.values()))
                                             for e in epochs)):
        refuse(path, "checkpoint", "history.epochs", "a list of epoch records (objects of "
                                                     "numbers)", epochs)
    if not (isinstance(losses, list) and all(map(is_number, losses))):
        refuse(path, "checkpoint", "history.step_losses", "a list of numbers", losses)
    if not (is_number(seconds) and math.isfinite(seconds) and seconds >= 0):
        refuse(path, "checkpoint", "history.train_seconds", "a number >= 0", seconds)


def check_resumable(path, cfg, checkpoint, structure):
    """FileError unless the Config rebuilt from a checkpoint's config is a run the flags could
    have asked for (training.config.validate), the structure its weights have (`structure`,
    training.start.structure_of) is the one it records, and the optimizer state saved is the
    one its optimizer keeps."""
    problem = validate(cfg)
    if problem:
        raise FileError(f"{path}: its config is not a run's: {problem}")
    decided = replace(cfg, **structure)                   # normalised as the config's values
    for name in structure:
        if getattr(decided, name) != getattr(cfg, name):
            raise FileError(f"{path}: its config's {name} is {shown(cfg.to_dict()[name])}, but "
                            f"its weights have {shown(decided.to_dict()[name])}")
    state = checkpoint["optimizer"]
    kept = set(OPTIMIZER_STATE[cfg.optimizer]) if cfg.optimizer != "momentum" or cfg.momentum \
        else set()                                        # momentum 0 keeps no buffer
    saved = set(state) - {"step"}
    taken = checkpoint["step"] > 0                        # before the first step torch has none
    if saved - kept or taken and saved != kept:
        raise FileError(f"{path}: its checkpoint holds the optimizer state "
                        f"{', '.join(sorted(saved)) or 'none'}; its config's optimizer "
                        f"{cfg.optimizer} keeps {', '.join(sorted(kept)) or 'none'}")
    if cfg.optimizer in COUNTS_STEPS and taken and "step" not in state:
        raise FileError(f"{path}: its checkpoint's optimizer_step must be an integer >= 0 for "
                        f"the optimizer {cfg.optimizer}, got null")
