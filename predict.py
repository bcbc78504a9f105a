"""Show a trained model on one digit: drawn in the terminal, with both twins' probabilities.

    python predict.py --weights w.npz --random          # a random test digit
    python predict.py --weights w.npz --index 42        # test digit 42
    python predict.py --weights w.npz --image my7.png   # your own 28x28 grayscale PNG

Torch is optional here: without it only the NumPy twin's column is shown.
"""
import cli  # first of all: it sets how OpenBLAS's threads idle, before NumPy loads

import argparse
import sys

import numpy as np

import data
import files
import mlp_np

SHADES = " .:-=+*#%@"


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help=".npz from main_np.py or main_torch.py")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, help="index of a test image (0-9999)")
    which.add_argument("--random", action="store_true", help="a random test image (the default)")
    which.add_argument("--image", help="a 28x28 grayscale PNG: white on black or black on white")
    parser.add_argument("--seed", type=int, help="seed of --random")
    parser.add_argument("--data-dir")
    return parser, parser.parse_args(argv)


def ascii_art(image):
    """(28, 28) in [0, 1] -> lines of shades, each pixel two characters wide (square-ish)."""
    levels = np.minimum((image * len(SHADES)).astype(int), len(SHADES) - 1)
    return ["".join(SHADES[v] * 2 for v in row) for row in levels]


def read_png(path):
    """A 28x28 PNG -> (784,) float32 in [0, 1], white digit on black (as MNIST)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            gray = np.asarray(img.convert("L"), np.float32) / 255
    except (OSError, UnidentifiedImageError) as e:
        raise files.FileError(f"{path}: not a readable image ({e})")
    if gray.shape != (28, 28):
        raise files.FileError(f"{path}: the image is {gray.shape[1]}x{gray.shape[0]} pixels; "
                              f"MNIST digits are 28x28 (resize it first)")
    if np.median(gray) > 0.5:          # mostly light: a dark digit on white paper
        gray = 1 - gray
    return gray.reshape(784)


def softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def probabilities(params, x):
    """{twin name: (10,) probabilities} from each twin that can be imported."""
    out = {"NumPy": softmax(mlp_np.MLP(params).logits(x[None].copy())[0].astype(np.float64))}
    try:
        import mlp_torch
    except ImportError:
        return out
    model = mlp_torch.MLP(params)
    out["PyTorch"] = softmax(model.logits(model.asarray(x[None])).numpy()[0].astype(np.float64))
    return out


def main(argv=None):
    parser, args = parse(argv)
    try:
        params, _ = files.load_weights(args.weights)
        params = {k: v.astype(np.float32) for k, v in params.items()}
        if args.image:
            x, label, title = read_png(args.image), None, args.image
        else:
            test = data.load_mnist(args.data_dir)
            n = len(test.y_test)
            if args.index is not None and not 0 <= args.index < n:
                parser.error(f"--index must be in 0..{n - 1}, got {args.index}")
            index = args.index if args.index is not None else \
                int(np.random.default_rng(args.seed).integers(n))
            x, label, title = test.x_test[index], int(test.y_test[index]), f"test image {index}"
        print(title)
        print("\n".join(ascii_art(x.reshape(28, 28))))
        probs = probabilities(params, x)
        names = list(probs)
        print("class  " + "  ".join(f"{n:>8}" for n in names))
        for c in range(10):
            marks = "  ".join(f"{probs[n][c]:8.4f}" for n in names)
            best = " <" if any(np.argmax(probs[n]) == c for n in names) else ""
            print(f"{c:>5}  {marks}{best}")
        guesses = ", ".join(f"{n} says {int(np.argmax(p))}" for n, p in probs.items())
        print(guesses + (f"; true label {label}" if label is not None else ""))
        return 0
    except (data.DataError, files.FileError) as e:
        return cli.fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
