"""gradcheck.py and the layers it checks: every hand-written layer against torch autograd and
finite differences (float64), the new layers (batch norm, dropout, the activations) in float32
too, batch norm's running statistics and its batch-1 rule as torch's, and a student's layer:
right, wrong, or not keeping the contract."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from checks.gradcheck import check
from checks.layers import LAYERS
from conftest import rel_err
from nets import layers_np as L
from test_cli import run


@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_every_layer_of_the_project_passes_gradcheck_in_float64(layer):
    diffs = check(layer)
    assert [d.name for d in diffs][0] == "out" and len(diffs) >= 2
    for d in diffs:
        assert d.verdict in ("exact", "close"), (d.name, d.verdict)
        assert d.autograd_rel < 1e-10, d.name                 # the tests' float64 bound
        assert d.fd_rel < 1e-5 or d.fd_abs < 1e-7, d.name


NEW = [layer for layer in LAYERS
       if layer.name.split()[0] in ("batch", "dropout", "sigmoid", "tanh", "leaky")]


@pytest.mark.parametrize("layer", NEW, ids=[layer.name for layer in NEW])
def test_the_new_layers_match_autograd_in_float32(layer):
    """The same layers on float32 inputs, random upstream gradients: relative error < 1e-4."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        inputs = [a.astype(np.float32) for a in layer.inputs(rng)]
        out, cache = layer.forward(*[a.copy() for a in inputs])
        dout = rng.standard_normal(out.shape).astype(np.float32)
        grads = layer.backward(dout.copy(), cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
        ref = layer.reference(*tensors)
        ref.backward(torch.from_numpy(dout))
        assert out.dtype == np.float32 and rel_err(out, ref.detach()) < 1e-4
        for mine, t in zip(grads, tensors):
            assert mine.dtype == np.float32 and rel_err(mine, t.grad) < 1e-4


@pytest.mark.parametrize("shape", [(5, 8), (3, 4, 5, 2), (3, 4, 5, 1)])
def test_batch_norm_moves_its_running_statistics_as_torch_does(shape):
    """Three training batches then evaluation: the running mean and the unbiased running
    variance (momentum 0.1) equal torch's, and evaluation uses them."""
    rng = np.random.default_rng(0)
    C = shape[0]
    mean, var = np.zeros(C), np.ones(C)
    norm = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(C).double()
    to_torch = (lambda a: torch.from_numpy(a.T)) if len(shape) == 2 else \
        (lambda a: torch.from_numpy(a).permute(3, 0, 1, 2))
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(gamma))
        norm.bias.copy_(torch.from_numpy(beta))
    for _ in range(3):
        x = 2 + 3 * rng.standard_normal(shape)
        L.batchnorm_forward(x, gamma, beta, mean, var, training=True)
        norm.train()(to_torch(x))
    assert rel_err(mean, norm.running_mean) < 1e-12 and rel_err(var, norm.running_var) < 1e-12
    assert int(norm.num_batches_tracked) == 3
    x = rng.standard_normal(shape)
    out, _ = L.batchnorm_forward(x, gamma, beta, mean, var, training=False)
    expected = norm.eval()(to_torch(x)).detach()
    expected = expected.T if len(shape) == 2 else expected.permute(1, 2, 3, 0)
    assert rel_err(out, expected) < 1e-12


def test_batch_norm_refuses_one_value_per_channel_in_training_as_torch_does():
    x = np.random.default_rng(0).standard_normal((4, 1))           # 4 units, batch 1
    stats = (np.zeros(4), np.ones(4))
    with pytest.raises(ValueError) as mine:
        L.batchnorm_forward(x, np.ones(4), np.zeros(4), *stats, training=True)
    with pytest.raises(ValueError) as theirs:
        F.batch_norm(torch.from_numpy(x.T), *map(torch.from_numpy, stats), training=True)
    said = lambda e: str(e.value).split(" got input size ")     # torch's shape is a torch.Size
    assert said(mine)[0] == said(theirs)[0] == "Expected more than 1 value per channel when " \
                                               "training,"
    assert said(mine)[1] == "(1, 4)" and said(theirs)[1] == "torch.Size([1, 4])"
    out, _ = L.batchnorm_forward(x, np.ones(4), np.zeros(4), *stats, training=False)
    assert out.shape == (4, 1)                                     # evaluation takes batch 1


STUDENT = '''
import numpy as np
def forward(x, w):
    return x * w, (x, w)
def backward(dout, cache):
    x, w = cache
    return dout * w, {dw}
def reference(x, w):
    return x * w
def inputs(rng):
    n = int(rng.integers(2, 6))
    return rng.standard_normal((3, n)), rng.standard_normal((3, n))
'''


def test_gradcheck_says_which_gradient_of_a_students_layer_is_wrong(tmp_path):
    (tmp_path / "good.py").write_text(STUDENT.format(dw="dout * x"))
    (tmp_path / "bad.py").write_text(STUDENT.format(dw="dout * x.sum()"))
    r = run("gradcheck.py", str(tmp_path / "good.py"))
    assert r.returncode == 0 and "every gradient exact or close" in r.stdout, r.stderr
    r = run("gradcheck.py", str(tmp_path / "bad.py"))
    assert r.returncode == 1, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()[1:] if line.startswith("  ")}
    assert lines["dx"].split()[1] == "exact" and lines["dw"].split()[1] == "wrong"
    assert "largest difference from torch" in lines["dw"] and " at [" in lines["dw"]


@pytest.mark.parametrize("text,message", [
    ("def forward(x): return x, x\n", "lacks backward(dout, cache)"),
    ("def forward(x:\n", "does not import: SyntaxError"),
    (STUDENT.format(dw="dout * x").replace("return dout * w, dout * x", "return dout * w"),
     "backward() gives 1 gradient for forward's 2 inputs"),
    (STUDENT.format(dw="dout * x").replace("return rng", "return (); rng"),
     "inputs(rng) must return a tuple of NumPy arrays (x first, then the parameters), got an "
     "empty tuple"),
    (STUDENT.format(dw="dout * x").replace("return x * w, (x, w)", "return x * w"),
     "forward() must return (out, cache)"),
])
def test_a_file_that_breaks_the_contract_gets_one_line(tmp_path, text, message):
    (tmp_path / "layer.py").write_text(text)
    r = run("gradcheck.py", str(tmp_path / "layer.py"))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.count("line 1") <= 1                   # Python's own text said it already


def test_the_example_layer_and_every_project_layer_pass_through_the_command():
    r = run("gradcheck.py", "checks/example_layer.py")
    assert r.returncode == 0 and "dz       exact" in r.stdout, r.stderr
    r = run("gradcheck.py")
    assert r.returncode == 0 and r.stdout.count(":\n") == len(LAYERS), r.stderr


# A gradient per input, whatever forward's signature: the names came from it, and a zip with
# them dropped the gradients past the names (*params named one, dparams, for w and b).
VARARGS = '''
import numpy as np
def forward(x, *params):
    w, b = params
    return x * w + b, (x, w)
def backward(dout, cache):
    x, w = cache
    return dout * w, dout * x, {db}
def reference(x, w, b):
    return x * w + b
def inputs(rng):
    return rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)
'''
ALL_VARARGS = (VARARGS.replace("def forward(x, *params):\n    w, b = params",
                               "def forward(*arrays):\n    x, w, b = arrays"))


@pytest.mark.parametrize("text,names", [
    (VARARGS, ["dx", "dparams[0]", "dparams[1]"]),
    (ALL_VARARGS, ["darrays[0]", "darrays[1]", "darrays[2]"]),
])
def test_every_input_gets_its_gradient_checked_whatever_forwards_signature(tmp_path, text,
                                                                           names):
    (tmp_path / "good.py").write_text(text.format(db="dout.sum(axis=0)"))
    (tmp_path / "bad.py").write_text(text.format(db="np.zeros(4)"))     # a wrong db
    r = run("gradcheck.py", str(tmp_path / "good.py"))
    assert r.returncode == 0 and "every gradient exact or close" in r.stdout, r.stderr
    r = run("gradcheck.py", str(tmp_path / "bad.py"))
    assert r.returncode == 1 and "1 wrong" in r.stdout, r.stdout + r.stderr
    verdicts = {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()
                if line.startswith("  ")}
    assert verdicts == {"out": "exact", names[0]: "exact", names[1]: "exact",
                        names[2]: "wrong"}


def test_a_layers_own_names_must_be_one_per_input():
    from checks.gradcheck import ContractError, Layer
    linear = next(layer for layer in LAYERS if layer.name == "linear")
    for names in (("dx", "dW"), ("dx", "dW", "db", "dc"), ("dx", "dW", "dW")):
        short = Layer("linear", linear.forward, linear.backward, linear.reference,
                      linear.inputs, names)
        with pytest.raises(ContractError, match="gradient names .* for 3 inputs; one per input"):
            check(short)


GOOD = STUDENT.format(dw="dout * x")
AFTER = "\nN = [0]\ndef forward(x, w):\n    N[0] += 1\n"         # the calls before it pass


# What a student's file raises, at import or in any function at any stage, or returns that is
# not real numbers: one line naming the file, the function and the cause, and exit 2.
@pytest.mark.parametrize("text,message", [
    (GOOD + "def forward(x, w):\n    return np.full(x.shape, 'a'), (x, w)\n",
     "forward()'s output holds <U1 values; it must hold real numbers"),
    (GOOD + "def backward(dout, cache):\n    return dout, np.full(dout.shape, 'a')\n",
     "backward()'s gradient 2 holds <U1 values; it must hold real numbers"),
    (GOOD + AFTER + "    if N[0] > 2: raise ValueError('boom')\n    return x * w, (x, w)\n",
     "forward() failed at a finite-difference step (ValueError: boom)"),
    ("import sys\nsys.exit(0)\n" + GOOD, "does not import: SystemExit: 0"),
    ("raise KeyboardInterrupt\n" + GOOD, "does not import: KeyboardInterrupt"),
    (GOOD + "def backward(dout, cache):\n    import sys\n    sys.exit(0)\n",
     "backward() failed (SystemExit: 0)"),
    (GOOD + "def reference(x, w):\n    raise KeyboardInterrupt\n",
     "reference() failed (KeyboardInterrupt)"),
    (GOOD + "def inputs(rng):\n    raise SystemExit('no')\n", "inputs(rng) failed (SystemExit: no)"),
    (GOOD + "def forward(x, w):\n    raise ValueError('one\\ntwo')\n",
     "forward() failed (ValueError: one two)"),
    (GOOD + "def forward(x, w):\n    return [[1.0], [1.0, 2.0]], None\n",
     "forward()'s output is not an array (ValueError"),
    (GOOD + "def backward(dout, cache):\n    return dout, dout * 1j\n",
     "backward()'s gradient 2 holds complex128 values"),
    (GOOD + "def reference(x, w):\n    return (x * w).detach().numpy()\n",
     "reference() must return a torch tensor, got ndarray"),
    (GOOD + AFTER + "    return (x * w if N[0] < 3 else x[:1]), (x, w)\n",
     "forward() gives shape (1, "),
])
def test_whatever_a_students_file_raises_or_returns_is_one_line_and_exit_2(tmp_path, text,
                                                                           message):
    (tmp_path / "layer.py").write_text(text)
    r = run("gradcheck.py", str(tmp_path / "layer.py"))
    assert r.returncode == 2 and message in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("gradcheck.py: error: ") and "layer.py" in r.stderr


# A check that compares nothing passes: empty inputs or output were every gradient "exact".
@pytest.mark.parametrize("text,message", [
    (GOOD.replace("return rng.standard_normal((3, n)), rng.standard_normal((3, n))",
                  "return rng.standard_normal((0, n)), rng.standard_normal((0, n))"),
     "inputs(rng) gives input 1 of shape (0, "),
    (GOOD + "def forward(x, w):\n    return x * (1 + w.sum()), (x, w)\n"     # w's gradient
            "def reference(x, w):\n    return x * (1 + w.sum())\n"              # never looked at
            "def backward(dout, cache):\n    return dout, np.zeros(cache[1].shape)\n"
            "def inputs(rng):\n    return rng.standard_normal((3, 4)), np.zeros(0)\n",
     "inputs(rng) gives input 2 of shape (0,), size 0: nothing to check"),
    (GOOD + "def forward(x, w):\n    return (x * w)[:, :0], (x, w)\n"
            "def reference(x, w):\n    return (x * w)[:, :0]\n"
            "def backward(dout, cache):\n    return 0 * cache[0], 0 * cache[1]\n",
     "forward() gives an output of shape (3, 0), size 0"),
    (GOOD.replace("return rng.standard_normal((3, n)), rng.standard_normal((3, n))",
                  "return rng.standard_normal((3, n)), np.full((3, n), np.inf)"),
     "inputs(rng) gives input 2 with values that are not finite"),
])
def test_inputs_or_an_output_with_nothing_to_check_are_refused(tmp_path, text, message):
    (tmp_path / "layer.py").write_text(text)
    r = run("gradcheck.py", str(tmp_path / "layer.py"))
    assert r.returncode == 2 and message in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_finite_differences_that_are_not_numbers_are_no_agreement():
    from checks.gradcheck import compare
    mine = np.ones(3)
    nan = np.full(3, np.nan)
    assert compare("dx", mine, mine, (mine, mine)).verdict == "exact"
    assert compare("dx", mine, mine, (nan, mine)).verdict == "wrong"
    assert compare("dx", mine, nan, (mine, mine)).verdict == "wrong"
