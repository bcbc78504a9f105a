"""Row blocks across threads for the NumPy optimizers' elementwise updates.

NumPy releases the GIL inside ufuncs, so an update split into row blocks, one per thread, uses
every core, as torch's kernels do (the matrix products are already multithreaded by BLAS). The
calling thread takes the first block itself, as OpenBLAS's caller does: measured in the
training loop, waking one pool thread instead of two made the NumPy step about 7% faster
(docs/speed.md).
"""
import argparse
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_pool, _threads = None, 1
MAX_PER_CORE = 4   # more only slows a run; 100,000 threads exhausted the machine's processes
PARALLEL_MIN_SIZE = 1 << 16        # smaller arrays: the threads would cost more than they save


def set_num_threads(n):
    """Threads for the optimizers' elementwise updates, as torch.set_num_threads."""
    global _pool, _threads
    if n != _threads:
        if _pool is not None:
            _pool.shutdown()
        _pool, _threads = (ThreadPoolExecutor(n - 1) if n > 1 else None), n


def by_row_blocks(update, *arrays):
    """update(*arrays), split into row blocks across the threads (NumPy arrays only; others,
    and small arrays, in one call)."""
    rows = arrays[0].shape[0]
    if _pool is None or arrays[0].size < PARALLEL_MIN_SIZE or not isinstance(arrays[0], np.ndarray):
        return update(*arrays)
    edges = np.linspace(0, rows, _threads + 1).astype(int)
    first, *others = [[a[lo:hi] for a in arrays] for lo, hi in zip(edges[:-1], edges[1:])]
    running = [_pool.submit(update, *block) for block in others]
    try:
        update(*first)
    finally:
        for done in running:
            done.result()


def thread_count(text):
    """argparse type of every command's --threads: a whole number from 1 to MAX_PER_CORE per
    core this process may run on; argparse.ArgumentTypeError (one line, exit 2) otherwise."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    cores = len(os.sched_getaffinity(0))
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    if n > MAX_PER_CORE * cores:
        raise argparse.ArgumentTypeError(f"{n} is more than {MAX_PER_CORE} per core of the "
                                         f"{cores} cores this may run on")
    return n
