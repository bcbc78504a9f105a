"""The twins as one interface (twins/base.py), one class per library: twins/numpy_twin.py (the
networks and optimizers written by hand) and twins/torch_twin.py (the same networks in PyTorch,
torch.optim). Each builds a network from a params dict, makes its optimizer and sets its
learning rate, keeps the weight average, exports weights and optimizer state in the checkpoint
form and loads them back, and runs a training step. Importing this package imports neither
twin: the NumPy path never loads torch.
"""
TWINS = ("numpy", "torch")


def load_twin(name, device, threads):
    """The twin called `name` ("numpy" or "torch") on `device` ("cpu" or "cuda"), with the
    process set for it: BLAS and the twin's own pool on `threads` CPU threads, and for torch
    subnormal floats read as 0 (flush-to-zero), as the NumPy twin's Adam flushes them by hand
    (twins/optim_np.flush_subnormals). TwinError where the device cannot be used.

    The threads are the whole process's, every twin loaded before included: hence no default,
    which once set a benchmark's later steps, both twins', to one thread unasked."""
    from threadpoolctl import threadpool_limits
    if name == "numpy":
        from nets import threads as pool
        from twins.numpy_twin import NumpyTwin
        pool.set_num_threads(threads)
        threadpool_limits(threads)
        return NumpyTwin(device)
    import torch
    from twins.torch_twin import TorchTwin
    torch.set_num_threads(threads)
    threadpool_limits(threads)           # once torch is loaded: its OpenMP and BLAS pools too
    torch.set_flush_denormal(True)
    return TorchTwin(device)
