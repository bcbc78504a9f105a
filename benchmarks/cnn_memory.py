"""The NumPy CNN's peak memory and system time against the torch twin's: each twin trains the
default CNN for a few epochs in a process of its own (`main_np.py` / `main_torch.py --model
cnn`), and the operating system reports what that process used (wait4's rusage: its peak
resident memory and its CPU seconds in user and kernel mode). Writes
learning_curves/bench-cnn-memory.csv and docs/cnn.md between its bench-cnn-memory markers.

    python -m benchmarks.cnn_memory [--epochs 2] [--threads T] [--no-readme]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from pathlib import Path

import pandas as pd

from nets.threads import thread_count
from report.machine import machine_line
from storage.atomic import FileError, check_markers, check_writable, replace_between, write_text
from storage.paths import DOCS, LEARNING_CURVES, ROOT

START, END = "<!-- bench-cnn-memory:start -->", "<!-- bench-cnn-memory:end -->"
COMMANDS = {"numpy": "main_np.py", "torch": "main_torch.py"}


def usage(argv, epochs):
    """Run `python argv...` in a process of its own: {peak MiB, user s, system s, wall s} of
    that process alone (wait4 reports one child's rusage; ru_maxrss is in KiB on Linux).
    RuntimeError with its last line of stderr where it fails, or where it did not train its
    `epochs` epochs (a flag such as --help ends it early, with nothing measured)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=out,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            err = child.stderr.read()
            _, status, rusage = os.wait4(child.pid, 0)
        except BaseException:                  # Ctrl-C: the child goes too, then the caller
            child.kill()
            raise
        out.seek(0)
        trained = f"epoch {epochs:>2}/{epochs}" in out.read()
    code = os.waitstatus_to_exitcode(status)
    if code or not trained:
        raise RuntimeError(f"{' '.join(argv)} exited {code}"
                           + (f": {(err.strip().splitlines() or [''])[-1]}" if code else
                              f" without training its {epochs} epochs, so nothing was measured"))
    return dict(peak_mib=rusage.ru_maxrss / 1024, user_seconds=rusage.ru_utime,
                system_seconds=rusage.ru_stime, wall_seconds=time.perf_counter() - start)


def measure(flags, epochs):
    """[{twin, the run's flags, usage}] of each twin's command run with `flags`."""
    return [dict(twin=twin, run_flags=" ".join(flags), **usage([command, *flags], epochs))
            for twin, command in COMMANDS.items()]


def section(table, machine):
    shown = pd.DataFrame({"twin": table.twin,
                          "peak resident MiB": table.peak_mib.map("{:,.0f}".format),
                          "user s": table.user_seconds.map("{:.1f}".format),
                          "system s": table.system_seconds.map("{:.1f}".format),
                          "wall s": table.wall_seconds.map("{:.1f}".format)})
    by = table.set_index("twin")
    ratio = by.peak_mib["numpy"] / by.peak_mib["torch"]
    return "\n".join([
        START,
        f"Produced by `python -m benchmarks.cnn_memory` (`main_np.py` and `main_torch.py "
        f"{table.run_flags.iloc[0]}`, each in a process of its own, as the operating system "
        f"reports it) on: {machine}. NumPy / PyTorch peak memory: **{ratio:.2f}** (target "
        f"≤ 1: **{'met' if ratio <= 1 else 'missed'}**).",
        "", shown.to_markdown(index=False), END])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=thread_count, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="more flags for both commands, e.g. --dataset lines; last: every "
                             "word after it is theirs")
    parser.add_argument("--out", default=str(LEARNING_CURVES))
    parser.add_argument("--readme", default=str(DOCS / "cnn.md"))
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    flags = ["--model", "cnn", "--epochs", str(args.epochs), "--threads", str(args.threads),
             "--no-progress", *args.extra]
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    csv = Path(args.out) / "bench-cnn-memory.csv"
    try:
        if not args.no_readme:                   # before the runs, not after
            check_markers(args.readme, START, END)
        csv.parent.mkdir(parents=True, exist_ok=True)
        check_writable(csv)
        table = pd.DataFrame(measure(flags, args.epochs))
        print(table.to_string(index=False))
        write_text(csv, table.to_csv(index=False))
        if not args.no_readme:
            changed = replace_between(args.readme, START, END,
                                      section(table, machine_line("cpu", args.threads)))
            print(f"{args.readme}: section {'rewritten' if changed else 'unchanged'}")
    except (OSError, FileError, RuntimeError) as e:
        said = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.strerror else e
        print(f"cnn_memory: error: {said}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cnn_memory: error: interrupted: nothing written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
