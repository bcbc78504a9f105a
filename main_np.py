"""Train the NumPy twin (mlp_np.py; --model cnn: nets/cnn_np.py) on MNIST or another data set
(--dataset).   python main_np.py --help"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import sys

from cli.run import main

if __name__ == "__main__":
    sys.exit(main("numpy", "Train the hand-written NumPy twin (the MLP, or --model cnn the "
                      "CNN) on MNIST or another data set (--dataset)."))
