"""Show a trained model on one image: drawn in the terminal, with both twins' probabilities;
label pictures of your own; or write Kaggle's submission file.

    python predict.py --weights w.npz --random          # a random test image
    python predict.py --weights w.npz --index 42        # test image 42
    python predict.py --weights w.npz --image my7.jpg   # your own picture, any size
    python predict.py --weights w.npz --image photos/ --csv labels.csv   # a folder of them
    python predict.py --dataset kaggle --weights w.npz --data-dir DIR --submission sub.csv

Pictures are prepared as the data set's images were made (datasets/picture.py: read as they are
displayed, the paper found under shadows and on a desk, the ink cropped, scaled into MNIST's
20x20 box and moved to where MNIST put its digits' centre of mass); one picture is drawn as
prepared, with both twins' probabilities; several give one line each.

The data set is the one the weights were trained on unless --dataset says otherwise. Torch is
optional here: without it only the NumPy twin's column is shown.
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import os
import sys

import numpy as np

from cli.run import ERRORS, fail, warn
from datasets import picture, read
from datasets.base import PictureError
from datasets.catalog import DATASETS, load as load_dataset, to_float
from storage.atomic import FileError, check_writable, write_text
from training import models, weights_file
from training.config import Config
from training.loop import logits_of
from training.start import initial_params
from twins import load_twin

SHADES = " .:-=+*#%@"


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--weights", required=True, help=".npz from main_np.py or main_torch.py")
    parser.add_argument("--dataset", choices=tuple(DATASETS),
                        help="the data set (default: the one the weights were trained on)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, help="index of a test image")
    which.add_argument("--random", action="store_true", help="a random test image (the default)")
    which.add_argument("--image", nargs="+", metavar="PICTURE",
                       help="pictures of your own (PNG, JPEG, ...; any size; grey, colour or "
                            "transparent; dark ink on light paper or light on dark), or folders "
                            "of them")
    which.add_argument("--submission", metavar="FILE",
                       help="--dataset kaggle: label every image of test.csv and write Kaggle's "
                            "submission file (ImageId,Label)")
    parser.add_argument("--csv", metavar="FILE", help="with --image: write file, each twin's "
                                                       "label and probability")
    parser.add_argument("--seed", type=int, help="seed of --random")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    if args.csv and not args.image:
        parser.error("--csv goes with --image")
    for flag in ("submission", "csv"):
        if getattr(args, flag):
            try:
                check_writable(getattr(args, flag))
            except FileError as e:
                parser.error(f"--{flag}: {e}")
    return parser, args


def ascii_art(image):
    """(H, W) in [0, 1] -> lines of shades, each pixel two characters wide (square-ish)."""
    levels = np.minimum((image * len(SHADES)).astype(int), len(SHADES) - 1)
    return ["".join(SHADES[v] * 2 for v in row) for row in levels]


def softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def networks(cfg, params):
    """{twin name: (twin, its network of the weights)} for each twin that can be imported."""
    out = {}
    for name, shown in (("numpy", "NumPy"), ("torch", "PyTorch")):
        try:
            twin = load_twin(name, "cpu", len(os.sched_getaffinity(0)))
        except ImportError:                    # no torch: the NumPy twin alone
            continue
        out[shown] = twin, models.build(twin, cfg, params)
    return out


def probabilities(nets, x):
    """{twin name: (C,) probabilities of the image x (D,)}."""
    return {name: softmax(logits_of(twin, net, x[None].copy())[0])
            for name, (twin, net) in nets.items()}


def labels_of(nets, x):
    """{twin name: (N,) predicted class ids} for the images x (N, D)."""
    return {name: logits_of(twin, net, x).argmax(1) for name, (twin, net) in nets.items()}


def write_submission(args, nets):
    """Label test.csv with the NumPy twin and write the submission; say how the twins differ."""
    from datasets import kaggle
    x = to_float(kaggle.read_unlabelled(args.data_dir))
    labels = labels_of(nets, x)
    write_text(args.submission, kaggle.submission_text(labels["NumPy"]))
    agree = "" if len(labels) == 1 else \
        f"; the PyTorch twin labels {int((labels['PyTorch'] != labels['NumPy']).sum())} differently"
    print(f"wrote {args.submission}: {len(x)} images labelled by the NumPy twin{agree}")
    return 0


def label_pictures(args, paths, nets, spec):
    """One line per picture: each twin's label and probability, or on stderr why the picture
    cannot be made into a digit (the others are labelled all the same); --csv writes them too,
    a refused picture's reason in its `error` column. Exit 1 if any was refused."""
    import pandas as pd
    prepared, refused = {}, {}
    for path in paths:
        try:
            prepared[path] = picture.prepare(path, spec)
        except PictureError as e:
            refused[path] = str(e)
    x = np.stack(list(prepared.values())) if prepared else None
    probs = {name: dict(zip(prepared, (softmax(row) for row in logits_of(twin, net, x))))
             for name, (twin, net) in nets.items()} if prepared else {}
    rows = []
    for path in paths:
        row = {"file": str(path)}
        if path in refused:
            rows.append(dict(row, error=refused[path]))
            print(f"predict.py: error: {refused[path]}", file=sys.stderr, flush=True)
            continue
        for name, p in probs.items():
            label = int(p[path].argmax())
            row[f"{name.lower()}_label"] = spec.classes[label]
            row[f"{name.lower()}_probability"] = round(float(p[path][label]), 6)
        rows.append(dict(row, error=""))
        print(f"{path}: " + ", ".join(f"{name} {row[f'{name.lower()}_label']} "
                                      f"({row[f'{name.lower()}_probability']:.3f})"
                                      for name in probs), flush=True)
    if args.csv:
        columns = ["file", *(f"{name.lower()}_{what}" for name in nets
                             for what in ("label", "probability")), "error"]
        write_text(args.csv, pd.DataFrame(rows, columns=columns).to_csv(index=False))
        print(f"wrote {args.csv}: {len(rows)} pictures"
              + (f", {len(refused)} refused" if refused else ""))
    return 1 if refused else 0


def main(argv=None):
    parser, args = parse(argv)
    try:
        if args.dataset is None:               # the one the weights were trained on
            args.dataset = weights_file.trained_on(weights_file.load_weights(args.weights)[1])
        if args.submission and args.dataset != "kaggle":
            parser.error(f"--submission is for --dataset kaggle, not {args.dataset}")
        spec = DATASETS[args.dataset]
        try:
            params, cfg = initial_params(Config(dataset=args.dataset), args.weights)
        except weights_file.DataSetMismatch as e:     # --dataset given against the file
            parser.error(str(e))
        nets = networks(cfg, params)
        if args.submission:
            return write_submission(args, nets)
        if args.image:
            paths = read.pictures(args.image)
            if len(paths) > 1 or args.csv:
                return label_pictures(args, paths, nets, spec)
            x, label, title = picture.prepare(paths[0], spec), None, str(paths[0])
        else:
            test = load_dataset(args.dataset, args.data_dir)
            n = len(test.y_test)
            if args.index is not None and not 0 <= args.index < n:
                parser.error(f"--index must be in 0..{n - 1}, got {args.index}")
            warn(test)
            index = args.index if args.index is not None else \
                int(np.random.default_rng(args.seed).integers(n))
            x, label, title = test.x_test[index], int(test.y_test[index]), f"test image {index}"
        print(f"{spec.title} {title}")
        print("\n".join(ascii_art(x.reshape(spec.image_shape))))
        probs = probabilities(nets, x)
        names = list(probs)
        # a class's name beside its number only where it says more (Fashion-MNIST's, not digits)
        named = any(name != str(c) for c, name in enumerate(spec.classes))
        width = max(len(name) for name in spec.classes) if named else 0
        column = lambda text: f"  {text:{width}}" if named else ""
        print(f"class{column('')}  " + "  ".join(f"{n:>8}" for n in names))
        for c, class_name in enumerate(spec.classes):
            marks = "  ".join(f"{probs[n][c]:8.4f}" for n in names)
            best = " <" if any(np.argmax(probs[n]) == c for n in names) else ""
            print(f"{c:>5}{column(class_name)}  {marks}{best}")
        said = lambda c: f"{c} ({spec.classes[c]})" if spec.classes[c] != str(c) else str(c)
        guesses = ", ".join(f"{n} says {said(int(np.argmax(p)))}" for n, p in probs.items())
        print(guesses + (f"; true label {said(label)}" if label is not None else ""))
        return 0
    except (*ERRORS, PictureError) as e:
        return fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
