"""Train the PyTorch twin (mlp_torch.py) on MNIST.   python main_torch.py --help"""
import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main("torch", "Train the PyTorch MLP on MNIST."))
