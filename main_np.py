"""Train the NumPy twin (mlp_np.py) on MNIST.   python main_np.py --help"""
import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main("numpy", "Train the hand-written NumPy MLP on MNIST."))
