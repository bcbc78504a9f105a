"""Check a hand-written backward pass against torch autograd and finite differences (float64).

    python gradcheck.py                 # every layer the project writes by hand
    python gradcheck.py my_layer.py     # a layer of your own: forward, backward, reference,
                                        # inputs (docs/gradcheck.md; checks/example_layer.py)

Prints, per gradient, exact / close / wrong with the largest absolute and relative difference
and where it is. Exit 0 when none is wrong, 1 when one is, 2 when the file breaks the contract.
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import importlib.util
import sys
from pathlib import Path

from checks.gradcheck import ContractError, Layer, check, report

FUNCTIONS = {"forward": "forward(x, *params) -> (out, cache)",
             "backward": "backward(dout, cache) -> (dx, *dparams)",
             "reference": "reference(x, *params) -> out, in torch",
             "inputs": "inputs(rng) -> (x, *params), NumPy arrays"}


def load_layer(path):
    """The Layer in the file at `path`; ContractError in one line if it cannot be one."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise ContractError(f"{path}: no such Python file")
    spec = importlib.util.spec_from_file_location(f"layer_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
        raise ContractError(f"{path} does not import: {type(e).__name__}: {e}{where}")
    missing = [form for name, form in FUNCTIONS.items()
               if not callable(getattr(module, name, None))]
    if missing:
        raise ContractError(f"{path} lacks {'; '.join(missing)} (see docs/gradcheck.md)")
    return Layer(path.name, *(getattr(module, name) for name in FUNCTIONS))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("layer", nargs="?", help="a .py file holding forward, backward, "
                                                 "reference and inputs (default: every layer "
                                                 "of the project)")
    args = parser.parse_args(argv)
    try:
        if args.layer:
            layers = [load_layer(args.layer)]
        else:
            from checks.layers import LAYERS
            layers = LAYERS
        wrong = 0
        for layer in layers:
            diffs = check(layer)
            print("\n".join(report(layer, diffs)), flush=True)
            wrong += sum(d.verdict == "wrong" for d in diffs)
    except ContractError as e:
        print(f"gradcheck.py: error: {e}", file=sys.stderr)
        return 2
    print(f"{wrong} wrong" if wrong else "every gradient exact or close")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
