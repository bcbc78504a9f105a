"""Blocks of rows across threads for the NumPy twin's elementwise work: the optimizers'
updates, and the CNN's per-channel layers (batch norm, max-pool, activation).

NumPy releases the GIL inside ufuncs, so work split into row blocks, one per thread, uses
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
# A layer's work hands over between threads several times a call (the CNN's per-channel layers,
# a few Python lines each): split from 4x larger arrays only. The regularised CNN's step at batch
# 32 took 8.2 ms split from 2^16 numbers, 7.4 ms from 2^18, 7.3 ms unsplit (docs/cnn.md).
LAYER_MIN_SIZE = 1 << 18


def set_num_threads(n):
    """Threads for the NumPy twin's elementwise work, as torch.set_num_threads."""
    global _pool, _threads
    if n != _threads:
        if _pool is not None:
            _pool.shutdown()
        _pool, _threads = (ThreadPoolExecutor(n - 1) if n > 1 else None), n


def by_row_blocks(update, *arrays, min_size=PARALLEL_MIN_SIZE):
    """update(*arrays), split into row blocks across the threads (NumPy arrays only; others,
    and arrays of fewer than min_size numbers, in one call)."""
    in_threads(update, [[a[lo:hi] for a in arrays]
                        for lo, hi in row_blocks(arrays[0], min_size)])


def row_blocks(a, min_size=PARALLEL_MIN_SIZE):
    """[(lo, hi)]: a's first axis in one block per thread, or one block for all of it where a
    has fewer than min_size numbers or is not a NumPy array (a CuPy array computes on the GPU)."""
    rows = a.shape[0]
    if _pool is None or a.size < min_size or not isinstance(a, np.ndarray) or rows < 2:
        return [(0, rows)]
    edges = np.linspace(0, rows, min(_threads, rows) + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def in_threads(work, calls):
    """[work(*args) for args in calls], the first call on the calling thread and the others
    on the pool's, at once; the results in the calls' order."""
    first, *others = calls
    running = [_pool.submit(work, *args) for args in others]
    try:
        results = [work(*first)]
    finally:
        results += [done.result() for done in running]
    return results


def stacked(blocks):
    """The blocks (arrays equal in all but their first axis) joined along it, as
    np.concatenate(blocks), each copied by its own thread; a single block as it is."""
    if len(blocks) == 1:
        return blocks[0]
    out = np.empty((sum(len(b) for b in blocks), *blocks[0].shape[1:]), blocks[0].dtype)
    edges = np.cumsum([0, *(len(b) for b in blocks)]).tolist()
    in_threads(np.copyto, [(out[lo:hi], b) for lo, hi, b in zip(edges[:-1], edges[1:], blocks)])
    return out


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
