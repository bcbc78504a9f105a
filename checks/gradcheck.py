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

The layer's code is the student's: every call into it goes through `call` and every value it
gives through `numeric`, so that whatever it raises (SystemExit and KeyboardInterrupt included)
or returns becomes a ContractError of one line naming the file and the function, never a
traceback, and never an exit that gradcheck did not choose.
"""
import inspect
from dataclasses import dataclass

import numpy as np

EXACT, CLOSE, FD_CLOSE, FD_ABS = 1e-12, 1e-7, 1e-5, 1e-7
FD_STEP, FD_ENTRIES, CHECKS = 1e-6, 20, 5
SAID = 200                    # characters kept of what a student's exception says


class ContractError(Exception):
    """A layer that does not keep the contract: the message says what, in one line (its
    newlines, from a student's exception or a file's name, are folded into spaces)."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))


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


def describe(e):
    """'Type: message' of any exception, cut to SAID characters; its message may itself fail."""
    try:
        said = " ".join(str(e).split())
    except BaseException:                       # a student's exception whose __str__ raises
        said = ""
    said = said if len(said) <= SAID else said[:SAID] + "..."
    return f"{type(e).__name__}: {said}" if said else type(e).__name__


def call(layer, function, *args, when=""):
    """layer.<function>(*args). ContractError naming the file, the function and the exception
    for anything it raises: BaseException, as a student's sys.exit(0) would otherwise end
    gradcheck with 0, and a KeyboardInterrupt in their code with a traceback."""
    try:
        return getattr(layer, function)(*args)
    except BaseException as e:
        signature = "inputs(rng)" if function == "inputs" else f"{function}()"
        raise ContractError(f"{layer.name}: {signature} failed{when} ({describe(e)})") from None


def numeric(layer, what, value):
    """`value` (an array, a tensor, nested lists, a number) as a float64 array. ContractError
    unless it is real numbers: strings, objects or complex values would fail later in NumPy
    with a traceback, or pass with their imaginary part dropped."""
    try:
        array = np.asarray(value)
    except BaseException as e:                  # ragged lists; the student's __array__
        raise ContractError(f"{layer.name}: {what} is not an array ({describe(e)})") from None
    if array.dtype.kind not in "biuf":
        raise ContractError(f"{layer.name}: {what} holds {array.dtype} values; it must hold "
                            f"real numbers")
    return array.astype(np.float64)


def gradient_names(layer, count):
    """[name of each of the `count` gradients]: the layer's own names, else d + the parameter of
    forward each input binds to (dx, dw; dparams[0], dparams[1] for *params), else d1, d2, ...
    One per input always, so that no gradient goes unchecked; ContractError where the layer's
    own names are not."""
    if layer.names:
        if len(layer.names) != count or len(set(layer.names)) != count:
            raise ContractError(f"{layer.name}: {len(layer.names)} gradient names "
                                f"{list(layer.names)} for {count} inputs; one per input")
        return list(layer.names)
    try:
        signature = inspect.signature(layer.forward)
        bound = signature.bind(*range(count)).arguments
    except BaseException:                       # no signature, or one the inputs do not fit:
        return [f"d{i + 1}" for i in range(count)]     # forward's call will say so
    names = []
    for name, value in bound.items():
        if signature.parameters[name].kind == inspect.Parameter.VAR_POSITIONAL:
            names += [f"d{name}[{j}]" for j in range(len(value))]
        else:
            names.append(f"d{name}")
    return names if len(names) == count else [f"d{i + 1}" for i in range(count)]


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
    """[Difference per gradient] for one draw of the inputs: the output's, then one for every
    input (the counts are held equal, never cut to the shorter)."""
    inputs = draw(layer, rng)
    out, _ = run(layer, inputs)                   # the contract kept, and the output's shape
    dout = rng.standard_normal(out.shape)
    out, grads = run(layer, inputs, dout)
    ref, theirs = autograd(layer, inputs, dout)
    names = gradient_names(layer, len(inputs))
    diffs = [compare("out", out, ref, None)]
    for i, (name, mine, grad) in enumerate(zip(names, grads, theirs, strict=True)):
        diffs.append(compare(name, mine, grad, finite_differences(layer, inputs, i, dout,
                                                                  mine, rng)))
    return diffs


def draw(layer, rng):
    """The layer's random inputs as float64 arrays. ContractError if they are not a tuple of
    floating arrays, or if one is empty (size 0: nothing of it to check, and an empty check
    passes) or not finite."""
    inputs = call(layer, "inputs", rng)
    if isinstance(inputs, np.ndarray) or not isinstance(inputs, (tuple, list)) or not inputs:
        empty = "an empty " if isinstance(inputs, (tuple, list)) and not inputs else ""
        raise ContractError(f"{layer.name}: inputs(rng) must return a tuple of NumPy arrays "
                            f"(x first, then the parameters), got {empty}"
                            f"{type(inputs).__name__}")
    if not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in inputs):
        raise ContractError(f"{layer.name}: inputs(rng) must give floating NumPy arrays only")
    for i, a in enumerate(inputs):
        if a.size == 0:
            raise ContractError(f"{layer.name}: inputs(rng) gives input {i + 1} of shape "
                                f"{a.shape}, size 0: nothing to check; give every input an "
                                f"entry at least")
        if not np.isfinite(a).all():
            raise ContractError(f"{layer.name}: inputs(rng) gives input {i + 1} with values "
                                f"that are not finite (inf or nan)")
    return [a.astype(np.float64) for a in inputs]


def forward(layer, inputs, shape=None, when=""):
    """(out as float64, cache) of forward on copies of the inputs. ContractError unless it
    returns (out, cache) with out real numbers of size > 0 (an empty output sends no gradient
    back, so a wrong backward would pass), and of `shape` where given."""
    result = call(layer, "forward", *[a.copy() for a in inputs], when=when)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ContractError(f"{layer.name}: forward() must return (out, cache), got "
                            f"{type(result).__name__}")
    out = numeric(layer, f"forward()'s output{when}", result[0])
    if out.size == 0:
        raise ContractError(f"{layer.name}: forward() gives an output of shape {out.shape}, "
                            f"size 0: no gradient flows back through it, nothing to check")
    if shape is not None and out.shape != shape:
        raise ContractError(f"{layer.name}: forward() gives shape {out.shape}{when}, "
                            f"{shape} before on the same inputs' shapes")
    return out, result[1]


def run(layer, inputs, dout=None):
    """(out, gradients) of forward then backward on copies of the inputs, all float64; dout
    as given or ones. ContractError naming what does not fit: one gradient per input, each
    real numbers of its input's shape."""
    out, cache = forward(layer, inputs, None if dout is None else dout.shape)
    upstream = np.ones_like(out) if dout is None else dout
    grads = call(layer, "backward", upstream.copy(), cache)
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    if len(grads) != len(inputs):
        raise ContractError(f"{layer.name}: backward() gives {len(grads)} "
                            f"gradient{'s' * (len(grads) != 1)} for forward's {len(inputs)} "
                            f"input{'s' * (len(inputs) != 1)}; one per input, in its order")
    grads = [numeric(layer, f"backward()'s gradient {i + 1}", g) for i, g in enumerate(grads)]
    for i, (g, a) in enumerate(zip(grads, inputs)):
        if g.shape != a.shape:
            raise ContractError(f"{layer.name}: gradient {i + 1} has shape {g.shape}, its "
                                f"input {a.shape}")
    return out, grads


def autograd(layer, inputs, dout):
    """(out, [gradient per input]) of reference through torch autograd, float64 arrays; an
    input reference does not use gets zeros. ContractError naming what failed."""
    import torch
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    ref = call(layer, "reference", *tensors)
    if not isinstance(ref, torch.Tensor):
        raise ContractError(f"{layer.name}: reference() must return a torch tensor, got "
                            f"{type(ref).__name__}")
    if tuple(ref.shape) != dout.shape:
        raise ContractError(f"{layer.name}: forward gives shape {dout.shape}, reference "
                            f"{tuple(ref.shape)}")
    try:                                        # autograd may run the student's own code
        ref.backward(torch.from_numpy(dout).to(ref.dtype))
        out = ref.detach().cpu().numpy()
    except BaseException as e:
        raise ContractError(f"{layer.name}: reference() failed on inputs of shapes "
                            f"{[a.shape for a in inputs]} ({describe(e)})") from None
    grads = [np.zeros_like(a) if t.grad is None else t.grad.numpy() for a, t in
             zip(inputs, tensors)]
    return numeric(layer, "reference()'s output", out), grads


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
            out, _ = forward(layer, moved, dout.shape, " at a finite-difference step")
            values.append(float((out * dout).sum()))
        numeric.append((values[0] - values[1]) / (2 * FD_STEP))
    return np.array(numeric), mine.reshape(-1)[entries]


def compare(name, mine, theirs, fd):
    """The Difference of one gradient (or, with fd None, of the output). A difference that is
    not a number (nan, from an inf or a nan on either side) is wrong: it is no agreement."""
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
    if not (fd_rel <= FD_CLOSE or fd_abs <= FD_ABS):       # written so that nan fails it
        verdict = "wrong"
    return Difference(name, verdict, float(gap.max(initial=0)), rel, where, fd_abs, fd_rel)


def report(layer, diffs):
    """The lines gradcheck.py prints for one layer: the names' column as wide as the longest
    (dparams[0] and the like)."""
    width = max([8] + [len(d.name) for d in diffs])
    lines = [f"{layer.name}:"]
    for d in diffs:
        fd = "" if d.name == "out" else f"; finite differences {d.fd_abs:.1e} ({d.fd_rel:.1e})"
        lines.append(f"  {d.name:<{width}} {d.verdict:<6} largest difference from torch "
                     f"{d.autograd_abs:.1e} (relative {d.autograd_rel:.1e}) at {list(d.where)}"
                     f"{fd}")
    return lines
