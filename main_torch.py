"""Train the PyTorch twin (mlp_torch.py; --model cnn: nets/cnn_torch.py) on MNIST or another
data set (--dataset).   python main_torch.py --help"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import sys

from cli.run import main

if __name__ == "__main__":
    sys.exit(main("torch", "Train the PyTorch twin (the MLP, or --model cnn the CNN) on "
                      "MNIST or another data set (--dataset)."))
