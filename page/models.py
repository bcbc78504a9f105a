"""A weights file of either twin (main_np.py's or main_torch.py's, MLP or CNN, any data set) as
both twins' networks of the same weights, described in a line; their probabilities for one image.

    Model.load(path) -> Model: .spec (the data set it was trained on), .nets, .description
    model.probabilities(x (H W,)) -> {"NumPy": (C,), "PyTorch": (C,)} float64

Loaded as predict.py loads one (training.start.initial_params decides the structure from the
file, training.models.build makes each twin's network). Without torch, the NumPy twin alone.
"""
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.catalog import DATASETS, Spec
from storage.atomic import FileError
from training import models, weights_file
from training.config import Config
from training.loop import logits_of
from training.start import initial_params
from twins import load_twin

TWINS = (("numpy", "NumPy"), ("torch", "PyTorch"))     # (twin, the name the page shows)
TWIN_TITLES = {"numpy": "NumPy", "torch": "PyTorch"}


def softmax(logits):
    """(C,) logits -> (C,) probabilities, float64."""
    e = np.exp(logits - logits.max())
    return e / e.sum()


def shown_path(path):
    """The path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Model:
    path: Path
    spec: Spec                 # the data set the weights were trained on
    cfg: Config                # its structure as the file decides it
    saved: dict                # the config the file records (twin, epochs, ...)
    nets: dict                 # {"NumPy": (twin, network), "PyTorch": ...}
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path, threads=None):
        """The weights file at `path` as both twins' networks. FileError (one line) if it is not
        a weights file this project can read."""
        path = Path(path)
        if path.is_dir():
            raise FileError(f"weights file {path} is a folder")
        _, saved = weights_file.load_weights(path)
        name = weights_file.trained_on(saved)
        if name not in DATASETS:
            raise FileError(f"{path} was trained on {name!r}, a data set this project does not "
                            f"know ({', '.join(DATASETS)})")
        try:
            params, cfg = initial_params(Config(dataset=name), path)
        except (KeyError, TypeError, ValueError) as e:       # a config that contradicts itself
            raise FileError(f"{path}: its recorded config does not fit its weights ({e})")
        threads = threads or len(os.sched_getaffinity(0))
        nets = {}
        for twin_name, shown in TWINS:
            try:
                twin = load_twin(twin_name, "cpu", threads)
            except ImportError:                   # no torch: the NumPy twin alone
                continue
            nets[shown] = twin, models.build(twin, cfg, params)
        return cls(path, DATASETS[name], cfg, saved, nets)

    @property
    def description(self):
        """The model in one line: its structure, data set, which twin trained it and for how
        long, and its file."""
        trainer = TWIN_TITLES.get(self.saved.get("twin"), "")
        epochs = self.saved.get("epochs")
        how = (f" by the {trainer} twin" if trainer else "") + \
            (f" for {epochs} epoch{'s' * (epochs != 1)}" if epochs else "")
        how = (f", trained{how}" if how else "") + \
            (" (an interrupted run)" if self.saved.get("interrupted") else "")
        return f"{models.describe(self.cfg)} on {self.spec.title}{how}; {shown_path(self.path)}"

    @property
    def label(self):
        """The model's name in the page's list: its file's name, structure and data set."""
        return f"{self.path.name}: {models.describe(self.cfg)}, {self.spec.title}"

    @property
    def twins(self):
        """The names of the twins that answer, in the page's order."""
        return tuple(self.nets)

    def probabilities(self, x):
        """x (H W,) in [0, 1] -> {twin's name: (C,) probabilities, float64}. Safe to call from
        several threads at once: one image at a time goes through the networks."""
        x = np.ascontiguousarray(x, dtype=self.cfg.dtype)[None]
        with self.lock:
            return {name: softmax(logits_of(twin, net, x.copy())[0])
                    for name, (twin, net) in self.nets.items()}
