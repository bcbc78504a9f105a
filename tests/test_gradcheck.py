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
     "backward() gives 1 gradients for forward's 2 inputs"),
    (STUDENT.format(dw="dout * x").replace("return x * w, (x, w)", "return x * w"),
     "forward() must return (out, cache)"),
])
def test_a_file_that_breaks_the_contract_gets_one_line(tmp_path, text, message):
    (tmp_path / "layer.py").write_text(text)
    r = run("gradcheck.py", str(tmp_path / "layer.py"))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_example_layer_and_every_project_layer_pass_through_the_command():
    r = run("gradcheck.py", "checks/example_layer.py")
    assert r.returncode == 0 and "dz       exact" in r.stdout, r.stderr
    r = run("gradcheck.py")
    assert r.returncode == 0 and r.stdout.count(":\n") == len(LAYERS), r.stderr
