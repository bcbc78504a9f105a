"""The house's rules, read from the code itself: imports point one way, modules stay small, the
lesson comes first, and the NumPy side runs without torch."""
import ast
import subprocess
import sys

import pytest

from conftest import ROOT

# Lower layers first. A module may import its own package and any layer below its own; nothing
# above. The commands (the scripts at the root) sit on top.
LAYERS = [
    {"storage"},
    {"mlp_np", "mlp_torch", "datasets"},
    {"nets"},
    {"twins", "checks"},
    {"training"},
    {"report"},
    {"benchmarks", "cli", "page"},
    {"main_np", "main_torch", "compare", "bench", "tune", "predict", "gradcheck", "app"},
]
# The NumPy side: what main_np.py runs on. None of it may need torch.
NUMPY_SIDE = ["mlp_np", "nets.shapes", "nets.layers_np", "nets.losses_np", "nets.dense_np", "nets.cnn_np", "twins",
              "twins.base", "nets.threads",
              "twins.optim_np", "twins.numpy_twin", "datasets.base", "datasets.catalog",
              "datasets.idx", "datasets.download", "datasets.kaggle", "datasets.lines",
              "datasets.picture",
              "datasets.read", "datasets.paper", "datasets.ink", "datasets.augment",
              "training.capacity",
              "storage.paths", "storage.atomic", "training.config", "training.defaults",
              "training.schedule", "training.models", "training.loop", "training.start",
              "training.weights_file", "training.diagnosis", "training.tuning", "cli.process",
              "cli.run"]


def project_modules():
    """{module name: path} of every project module (not the tests)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] in ("tests", ".venv", "data") or parts[0].startswith("."):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = project_modules()


def imports_of(path, top_level_only=False):
    """The project modules `path` imports (anywhere in it, or at its top level only)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:    # a module, or from a module
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES
                     else node.module for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES}
    return found


def layer(module):
    package = module.split(".")[0]
    return next(i for i, names in enumerate(LAYERS) if package in names)


def test_every_module_has_a_layer_and_is_under_300_lines():
    for name, path in MODULES.items():
        layer(name)                                   # StopIteration: a package not placed
        assert len(path.read_text().splitlines()) <= 300, name


def test_imports_point_down_never_up():
    for name, path in MODULES.items():
        for target in imports_of(path):
            same_package = target.split(".")[0] == name.split(".")[0]
            assert same_package or layer(target) < layer(name), f"{name} imports {target}"


def test_no_circle_of_imports():
    graph = {name: imports_of(path) - {name} for name, path in MODULES.items()}
    done, on_path = set(), []
    def visit(name):
        if name in on_path:
            pytest.fail("circle: " + " -> ".join(on_path[on_path.index(name):] + [name]))
        if name in done:
            return
        on_path.append(name)
        for target in graph[name]:
            visit(target)
        on_path.pop()
        done.add(name)
    for name in graph:
        visit(name)


def test_the_numpy_side_imports_no_torch():
    """Statically: no NumPy-side module imports torch at its top level, nor anything that
    does; and in a process where torch cannot be imported, every one of them imports."""
    closure, todo = set(), list(NUMPY_SIDE)
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            todo += imports_of(MODULES[name], top_level_only=True)
    for name in closure:
        tree = ast.parse(MODULES[name].read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                assert not any(n.split(".")[0] == "torch" for n in names), name
    code = ("import sys; sys.modules['torch'] = None\n"
            + "".join(f"import {name}\n" for name in NUMPY_SIDE))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_lesson_reads_first():
    """mlp_np.py: the forward pass within its first 60 lines, the whole file under 150, and its
    twin's sections in the same order under the same names."""
    for path in (ROOT / "mlp_np.py", ROOT / "mlp_torch.py"):
        lines = path.read_text().splitlines()
        assert len(lines) < 150, path.name
        assert next(i for i, line in enumerate(lines, 1) if "def forward(" in line) <= 60
    sections = [[line for line in (ROOT / name).read_text().splitlines()
                 if line.startswith("# ---")] for name in ("mlp_np.py", "mlp_torch.py")]
    assert sections[0] == sections[1] and len(sections[0]) >= 2


def top_level_names(path):
    """(names a module defines at its top level, names it binds by importing)."""
    defined, imported = set(), set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return defined, imported


def test_nothing_reaches_through_another_modules_imports():
    """`from m import x` and `m.x` name what m defines (or a module of its package), never what
    m itself imported: cli.config or cli.os, say."""
    names = {name: top_level_names(path) for name, path in MODULES.items()}
    reached = []
    def check(user, module, attr):
        defined, imported = names[module]
        if attr in imported and attr not in defined and f"{module}.{attr}" not in MODULES:
            reached.append(f"{user} takes {attr} from {module}")
    for user, path in MODULES.items():
        bound = {}                                       # local name -> project module
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in MODULES:
                for a in node.names:
                    if f"{node.module}.{a.name}" in MODULES:
                        bound[a.asname or a.name] = f"{node.module}.{a.name}"
                    else:
                        check(user, node.module, a.name)
            elif isinstance(node, ast.Import):
                bound |= {a.asname: a.name for a in node.names if a.asname and a.name in MODULES}
                bound |= {a.name: a.name for a in node.names if a.name in MODULES}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in bound:
                check(user, bound[node.value.id], node.attr)
    assert not reached, "; ".join(sorted(set(reached)))
