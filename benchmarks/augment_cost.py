"""What --augment costs and what it changes, printed (no file but the picture):

1. the median time of datasets/augment.py on a batch of 256 MNIST images, affine alone and with
   Simard's elastic field, against one training step of the default MLP and of the default CNN
   (NumPy twin, float32, same batch), each also per 60,000-image epoch;
2. with --epochs N (0: skip), the default MLP trained on the first 10,000 training images
   without augmentation, with the affine one, with the elastic field alone (Simard's) and with
   both, scored on training images 50,000-59,999 (never trained on; the test set is left
   alone), --seeds seeds each;
3. with --picture PATH, 8 training digits and 4 draws of each distortion (a PNG).

    python -m benchmarks.augment_cost [--threads T] [--repeats R] [--epochs 3] [--seeds 2]
                                      [--picture learning_curves/augment.png]
"""
import argparse
import math
import os
import time
from dataclasses import replace

import numpy as np

from benchmarks.timing import median_seconds
from datasets import augment as aug
from datasets.catalog import batch_order, load
from nets.threads import thread_count
from report.figures import pyplot, save_figure
from training import models
from training.config import Config
from training.loop import evaluate
from training.schedule import lr_at
from twins import load_twin

BATCH, EPOCH = 256, 60_000
SUBSET, HELD_OUT = 10_000, slice(50_000, 60_000)


def step_fn(twin, cfg, x, y):
    """fn() making one training step of cfg's model on (x, y)."""
    model = models.build(twin, cfg, models.init_params(cfg, 0, "float32"))
    opt = twin.optimizer(model, cfg.optimizer, cfg.lr)
    xs, ys = twin.asarray(x), twin.asarray(y)
    return lambda: twin.train_step(model, xs, ys, opt, cfg.label_smoothing)


def costs(ds, twin, repeats):
    """{name: median seconds per batch of 256} of the two augmentations and the two steps."""
    x, y = ds.x_train[:BATCH], ds.y_train[:BATCH]
    shape = ds.spec.image_shape
    draws = iter(range(10 ** 9))            # a fresh Generator each call, as the loop makes it
    fns = {"affine": lambda: aug.augment(x, shape, aug.rng_for(0, 1, next(draws))),
           "affine + elastic": lambda: aug.augment(x, shape, aug.rng_for(0, 1, next(draws)),
                                                   aug.ELASTIC),
           "MLP step": step_fn(twin, Config.for_run("mnist", "mlp"), x, y),
           "CNN step": step_fn(twin, Config.for_run("mnist", "cnn"), x, y)}
    return median_seconds(fns, lambda: None, repeats)


def print_costs(seconds):
    per_epoch = math.ceil(EPOCH / BATCH)
    print(f"median per batch of {BATCH} and per epoch of {EPOCH:,} images ({per_epoch} steps):")
    for name, s in seconds.items():
        print(f"  {name:<17} {1e3 * s:7.2f} ms  {s * per_epoch:6.2f} s/epoch")
    for name in ("affine", "affine + elastic"):
        print(f"  {name}: {100 * seconds[name] / seconds['MLP step']:.0f} % of an MLP step's "
              f"time, {100 * seconds[name] / seconds['CNN step']:.0f} % of a CNN step's")


def train_and_score(ds, twin, cfg, params, seed):
    """Held-out accuracy of cfg's model trained on the first SUBSET images, each batch passed
    through augment(params) (None: as it is) with the Generator of rng_for(seed, epoch, step);
    the learning rate follows cfg's schedule, no weight average."""
    model = models.build(twin, cfg, models.init_params(cfg, seed, "float32"))
    opt = twin.optimizer(model, cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay)
    x, y = ds.x_train[:SUBSET], ds.y_train[:SUBSET]
    steps_per_epoch = math.ceil(SUBSET / cfg.batch_size)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        for i, idx in enumerate(batch_order(SUBSET, cfg.batch_size, seed, epoch)):
            batch = x[idx]
            if params is not None:
                batch = aug.augment(batch, ds.spec.image_shape, aug.rng_for(seed, epoch, i),
                                    params)
            twin.set_lr(opt, lr_at(cfg, step, cfg.epochs * steps_per_epoch))
            twin.train_step(model, twin.asarray(batch), twin.asarray(y[idx]), opt,
                            cfg.label_smoothing)
            step += 1
    return evaluate(twin, model, twin.asarray(ds.x_train[HELD_OUT]),
                    twin.asarray(ds.y_train[HELD_OUT]))[1]


def accuracy_check(ds, twin, epochs, seeds):
    cfg = Config.for_run("mnist", "mlp", epochs=epochs, ema=0.0)
    print(f"\nMLP {'-'.join(map(str, cfg.sizes()))}, {epochs} epochs on the first {SUBSET:,} "
          f"training images, accuracy on training images 50,000-59,999 (seeds "
          f"{', '.join(map(str, range(seeds)))}):")
    elastic_alone = replace(aug.ELASTIC, degrees=0.0, scale=(1.0, 1.0), shift=0.0)
    for name, params in (("none", None), ("affine", aug.DEFAULT), ("elastic", elastic_alone),
                         ("affine + elastic", aug.ELASTIC)):
        start = time.perf_counter()
        scores = [train_and_score(ds, twin, cfg, params, seed) for seed in range(seeds)]
        print(f"  {name:<17} " + "  ".join(f"{100 * s:.2f} %" for s in scores)
              + f"   mean {100 * np.mean(scores):.2f} %   ({time.perf_counter() - start:.1f} s)")


def picture(ds, path):
    """8 digits (one of each of the first 8 classes), 4 affine and 4 elastic draws of each."""
    plt = pyplot()
    first = [int(np.flatnonzero(ds.y_train == c)[0]) for c in range(8)]
    x = ds.x_train[first]
    columns = [("original", x)]
    columns += [(f"affine {i + 1}", aug.augment(x, ds.spec.image_shape, aug.rng_for(0, 1, i)))
                for i in range(4)]
    columns += [(f"elastic {i + 1}", aug.augment(x, ds.spec.image_shape,
                                                 aug.rng_for(0, 1, i), aug.ELASTIC))
                for i in range(4)]
    fig, axes = plt.subplots(len(x), len(columns), figsize=(1.1 * len(columns), 1.1 * len(x)),
                             dpi=100)
    for j, (title, images) in enumerate(columns):
        axes[0, j].set_title(title, fontsize=8)
        for i in range(len(x)):
            axes[i, j].imshow(images[i].reshape(ds.spec.image_shape), cmap="gray_r",
                              vmin=0, vmax=1)
            axes[i, j].set_axis_off()
    fig.suptitle("datasets/augment.py: default affine draws (rotation +-12 deg, scale 0.9-1.1, "
                 "shift +-2 px), and with Simard's elastic field (alpha 34, sigma 4)",
                 fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    print(f"\nwrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--threads", type=thread_count, default=len(os.sched_getaffinity(0)),
                        help="CPU threads of the twin's step, as the commands' default (the "
                             "augmentation runs on one, but for the elastic blur's products)")
    parser.add_argument("--repeats", type=int, default=60, help="timed calls of each; 0: none")
    parser.add_argument("--epochs", type=int, default=3, help="of the accuracy check; 0: none")
    parser.add_argument("--seeds", type=int, default=2, help="runs of each in the check")
    parser.add_argument("--picture", help="write the picture of the distortions here")
    args = parser.parse_args(argv)
    twin = load_twin("numpy", "cpu", args.threads)
    ds = load("mnist", dtype="float32", allow_download=False)
    print(f"NumPy twin, float32, {args.threads} thread(s)")
    if args.repeats:
        print_costs(costs(ds, twin, args.repeats))
    if args.epochs:
        accuracy_check(ds, twin, args.epochs, args.seeds)
    if args.picture:
        picture(ds, args.picture)


if __name__ == "__main__":
    main()
