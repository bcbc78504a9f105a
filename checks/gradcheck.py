"""Check a layer's hand-written backward pass: against torch autograd and against central finite
differences, in float64, over several random inputs. What `python gradcheck.py` runs.

A layer to check is four functions (docs/gradcheck.md; checks/example_layer.py is one):

    forward(x, *params) -> (out, cache)     NumPy arrays in; the output and what backward needs
    backward(dout, cache) -> (dx, *dparams) one gradient per input of forward, in its order
    reference(x, *params) -> out            the same layer in torch, on tensors
    inputs(rng) -> (x, *params)             random NumPy inputs for one check (vary the shapes)

Each check draws the inputs and a random upstream gradient dout (not ones, which would hide a
transposed or summed-over axis), runs forward and backward on copies (a layer may overwrite its
arrays), and holds the output and every gradient against torch's, and each gradient, at up to
FD_ENTRIES entries, against (L(p + h) - L(p - h)) / 2h of L = sum(out * dout). A gradient is
exact (largest difference, relative to its scale, at most EXACT), close (at most CLOSE, and the
finite differences agree to FD_CLOSE relative or FD_ABS absolute: a gradient near 0 leaves the
relative difference to rounding), or wrong; the largest absolute and relative differences and
where they are go with it.
"""
import inspect
from dataclasses import dataclass

import numpy as np

EXACT, CLOSE, FD_CLOSE, FD_ABS = 1e-12, 1e-7, 1e-5, 1e-7
FD_STEP, FD_ENTRIES, CHECKS = 1e-6, 20, 5


class ContractError(Exception):
    """A layer that does not keep the contract: the message says what, in one line."""


@dataclass
class Layer:
    """A layer to check: its name and its four functions (see the module's docstring)."""
    name: str
    forward: object
    backward: object
    reference: object
    inputs: object
    names: tuple = ()         # the gradients' names, dx first; default: forward's parameters


@dataclass
class Difference:
    """How one gradient compares: the verdict, and the largest absolute and relative
    differences against autograd and against finite differences, with where they are."""
    name: str
    verdict: str
    autograd_abs: float
    autograd_rel: float
    where: tuple
    fd_abs: float
    fd_rel: float


def gradient_names(layer):
    """d + each parameter name of forward (dx, dw, ...), or the layer's own names."""
    if layer.names:
        return list(layer.names)
    try:
        return ["d" + p for p in inspect.signature(layer.forward).parameters]
    except (TypeError, ValueError):
        return []


def check(layer, checks=CHECKS, seed=0):
    """[Difference per gradient], the worst over `checks` random inputs. ContractError where
    the layer's functions do not keep the contract."""
    worst = {}
    for k in range(checks):
        for diff in check_once(layer, np.random.default_rng([seed, k])):
            if diff.name not in worst or rank(diff) > rank(worst[diff.name]):
                worst[diff.name] = diff
    return list(worst.values())


def rank(diff):
    return (("exact", "close", "wrong").index(diff.verdict), diff.autograd_rel, diff.fd_rel)


def check_once(layer, rng):
    """[Difference per gradient] for one draw of the inputs."""
    import torch
    inputs = draw(layer, rng)
    out, _ = run(layer, inputs)                   # the contract kept, and the output's shape
    dout = rng.standard_normal(np.shape(out))
    out, grads = run(layer, inputs, dout)
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    try:
        ref = layer.reference(*tensors)
        ref.backward(torch.from_numpy(dout))
    except Exception as e:
        raise ContractError(f"{layer.name}: reference() failed on inputs of shapes "
                            f"{[a.shape for a in inputs]} ({type(e).__name__}: {e})")
    if tuple(ref.shape) != np.shape(out):
        raise ContractError(f"{layer.name}: forward gives shape {np.shape(out)}, reference "
                            f"{tuple(ref.shape)}")
    names = gradient_names(layer) or [f"d{i}" for i in range(len(inputs))]
    diffs = [compare("out", out, ref.detach().numpy(), None)]
    for i, (name, mine) in enumerate(zip(names, grads)):
        theirs = tensors[i].grad
        theirs = np.zeros_like(inputs[i]) if theirs is None else theirs.numpy()
        diffs.append(compare(name, mine, theirs, finite_differences(layer, inputs, i, dout,
                                                                    mine, rng)))
    return diffs


def draw(layer, rng):
    """The layer's random inputs as float64 arrays (ContractError if they are not arrays)."""
    try:
        inputs = layer.inputs(rng)
    except Exception as e:
        raise ContractError(f"{layer.name}: inputs(rng) failed ({type(e).__name__}: {e})")
    if isinstance(inputs, np.ndarray) or not isinstance(inputs, (tuple, list)) or not inputs:
        raise ContractError(f"{layer.name}: inputs(rng) must return a tuple of NumPy arrays "
                            f"(x first, then the parameters), got {type(inputs).__name__}")
    if not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in inputs):
        raise ContractError(f"{layer.name}: inputs(rng) must give floating NumPy arrays only")
    return [a.astype(np.float64) for a in inputs]


def run(layer, inputs, dout=None):
    """(out, gradients) of forward then backward on copies of the inputs; dout as given or
    ones. ContractError naming what does not fit."""
    try:
        result = layer.forward(*[a.copy() for a in inputs])
    except Exception as e:
        raise ContractError(f"{layer.name}: forward() failed ({type(e).__name__}: {e})")
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ContractError(f"{layer.name}: forward() must return (out, cache), got "
                            f"{type(result).__name__}")
    out = np.asarray(result[0])
    upstream = np.ones_like(out) if dout is None else dout
    try:
        grads = layer.backward(upstream.copy(), result[1])
    except Exception as e:
        raise ContractError(f"{layer.name}: backward() failed ({type(e).__name__}: {e})")
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    if len(grads) != len(inputs):
        raise ContractError(f"{layer.name}: backward() gives {len(grads)} gradients for "
                            f"forward's {len(inputs)} inputs; one per input, in its order")
    for i, (g, a) in enumerate(zip(grads, inputs)):
        if np.shape(g) != a.shape:
            raise ContractError(f"{layer.name}: gradient {i + 1} has shape {np.shape(g)}, its "
                                f"input {a.shape}")
    return out, [np.asarray(g, np.float64) for g in grads]


def finite_differences(layer, inputs, i, dout, mine, rng):
    """(numeric, analytic) at up to FD_ENTRIES entries of input i, central differences of
    L = sum(forward(...) * dout)."""
    entries = rng.choice(inputs[i].size, size=min(inputs[i].size, FD_ENTRIES), replace=False)
    numeric = []
    for flat in entries:
        index = np.unravel_index(flat, inputs[i].shape)
        values = []
        for h in (FD_STEP, -FD_STEP):
            moved = [a.copy() for a in inputs]
            moved[i][index] += h
            values.append(float((np.asarray(layer.forward(*moved)[0]) * dout).sum()))
        numeric.append((values[0] - values[1]) / (2 * FD_STEP))
    return np.array(numeric), mine.reshape(-1)[entries]


def compare(name, mine, theirs, fd):
    """The Difference of one gradient (or, with fd None, of the output)."""
    scale = max(np.abs(theirs).max(initial=0), np.abs(mine).max(initial=0), 1e-300)
    gap = np.abs(mine - theirs)
    where = tuple(int(i) for i in np.unravel_index(gap.argmax(), gap.shape)) if gap.size else ()
    rel = float(gap.max(initial=0) / scale)
    fd_abs = fd_rel = 0.0
    if fd is not None:
        numeric, analytic = fd
        fd_gap = np.abs(numeric - analytic)
        fd_abs = float(fd_gap.max(initial=0))
        fd_rel = fd_abs / max(np.abs(numeric).max(initial=0), np.abs(analytic).max(initial=0),
                              1e-12)
    verdict = "exact" if rel <= EXACT else "close" if rel <= CLOSE else "wrong"
    if fd_rel > FD_CLOSE and fd_abs > FD_ABS:
        verdict = "wrong"
    return Difference(name, verdict, float(gap.max(initial=0)), rel, where, fd_abs, fd_rel)


def report(layer, diffs):
    """The lines gradcheck.py prints for one layer."""
    lines = [f"{layer.name}:"]
    for d in diffs:
        fd = "" if d.name == "out" else f"; finite differences {d.fd_abs:.1e} ({d.fd_rel:.1e})"
        lines.append(f"  {d.name:<8} {d.verdict:<6} largest difference from torch "
                     f"{d.autograd_abs:.1e} (relative {d.autograd_rel:.1e}) at {list(d.where)}"
                     f"{fd}")
    return lines
