"""Check a hand-written backward pass against torch autograd and finite differences (float64).

    python gradcheck.py                 # every layer the project writes by hand
    python gradcheck.py my_layer.py     # a layer of your own: forward, backward, reference,
                                        # inputs (docs/gradcheck.md; checks/example_layer.py)

Prints, per gradient, exact / close / wrong with the largest absolute and relative difference
and where it is. Exit 0 when none is wrong, 1 when one is, 2 when the file breaks the contract
(one line naming the file, the function and the cause: whatever the file raises, sys.exit too).
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import importlib.util
import sys
from pathlib import Path

from checks.gradcheck import ContractError, Layer, check, describe, report

FUNCTIONS = {"forward": "forward(x, *params) -> (out, cache)",
             "backward": "backward(dout, cache) -> (dx, *dparams)",
             "reference": "reference(x, *params) -> out, in torch",
             "inputs": "inputs(rng) -> (x, *params), NumPy arrays"}


def load_layer(path):
    """The Layer in the file at `path`; ContractError in one line if it cannot be one. Whatever
    the file raises as it imports counts, SystemExit and KeyboardInterrupt too: a sys.exit(0)
    in it would otherwise end gradcheck with 0, having checked nothing."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise ContractError(f"{path}: no such Python file")
    spec = importlib.util.spec_from_file_location(f"layer_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        functions = {name: getattr(module, name, None) for name in FUNCTIONS}
    except BaseException as e:                  # a module __getattr__ is the file's code too
        where = (f" (line {e.lineno})" if isinstance(e, SyntaxError)    # once: Python's own
                 and f"line {e.lineno}" not in str(e) else "")          # text may give it
        raise ContractError(f"{path} does not import: {describe(e)}{where}") from None
    missing = [form for name, form in FUNCTIONS.items() if not callable(functions[name])]
    if missing:
        raise ContractError(f"{path} lacks {'; '.join(missing)} (see docs/gradcheck.md)")
    return Layer(path.name, *functions.values())


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
