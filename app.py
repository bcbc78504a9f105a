"""Draw a digit in the browser: the NumPy twin and the PyTorch twin answer it side by side.

    python app.py                                  # the default MLP (trained on the first start)
    python app.py --weights w.npz cnn.npz          # weights files of either twin, chosen on the page
    python app.py --port 8000 --host 0.0.0.0       # another port; reachable from the network

Serves the page on http://127.0.0.1:7860 (page/layout.py) until Ctrl-C. Without --weights, the
first start trains the default MLP with the NumPy twin (about a minute on 2 unloaded cores, with
a progress bar) and keeps it in data/app/ (page/default.py); later starts reuse it. No public
link unless --share.

Exit codes: 0 stopped by Ctrl-C (or SIGTERM) after serving; 1 a weights file, data or port
problem (one line on stderr); 2 a bad flag; 128 + the signal's number if the first start's
training was stopped (nothing is kept then).
"""
import cli.process  # noqa: F401  first: how OpenBLAS's threads idle, set before NumPy loads

import argparse
import os
import socket
import sys
import time

from cli.run import ERRORS, fail
from nets.threads import thread_count
from training import loop

DEFAULT_PORT = 7860


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--weights", nargs="+", action="extend", metavar="FILE",
                        help=".npz weights files of either twin (main_np.py's or main_torch.py's "
                             "--save; MLP or CNN, any data set); several are chosen between on the page "
                             "(default: the default MLP, trained on the first start)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default 127.0.0.1, this computer only; "
                             "0.0.0.0: every network this computer is on)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--share", action="store_true",
                        help="also ask Gradio for a public share link (off unless asked for)")
    parser.add_argument("--threads", type=thread_count, default=len(os.sched_getaffinity(0)),
                        help="CPU threads of both twins")
    parser.add_argument("--data-dir", help="where a data set's files are, for its random test "
                                           "images (as main_np.py's --data-dir)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in 1..65535, got {args.port}")
    try:
        socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        parser.error(f"--host {args.host}: not an address of this computer ({e})")
    return parser, args


def port_problem(host, port):
    """Why the page cannot be served on host:port (one line), or None if it can."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)      # as the server will
        try:
            s.bind(address)
        except OSError as e:
            in_use = "is in use (another app.py?)" if e.errno == 98 else f"cannot be used ({e})"
            return f"port {port} on {host} {in_use}; choose another with --port"
    return None


def main(argv=None):
    parser, args = parse(argv)
    from page import default
    from page.models import Model
    try:
        with loop.signals_interrupt():
            problem = port_problem(args.host, args.port)
            if problem:
                return fail(problem)
            if not args.weights:
                try:
                    args.weights = [default.default_weights(threads=args.threads)]
                except KeyboardInterrupt:
                    return fail("interrupted: the default model was not kept",
                                128 + loop.stopped_by())
            models = [Model.load(path, args.threads) for path in args.weights]
            return serve(models, args)
    except loop.Diverged as e:
        return fail(f"training the default model diverged: {e}")
    except ERRORS as e:
        return fail(str(e))


def serve(models, args):
    """Serve the page until Ctrl-C or SIGTERM."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")     # no telemetry, no call home
    from page import layout
    page = layout.build(models, args.data_dir)
    try:
        layout.launch(page, args.host, args.port, args.share)
    except OSError as e:                                   # the port was taken meanwhile
        return fail(f"cannot serve on {args.host}:{args.port} ({e}); choose another --port")
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"app.py: the page is on http://{shown_host}:{args.port} (Ctrl-C to stop)", flush=True)
    if args.share and page.share_url:
        print(f"app.py: public share link {page.share_url}", flush=True)
    for model in models:
        print(f"  model: {model.description}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        page.close()
        print("app.py: stopped", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
