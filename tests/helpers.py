"""Small MNIST-shaped data sets written as real IDX .gz files, and a local HTTP mirror."""
import gzip
import http.server
import os
import signal
import struct
import subprocess
import sys
import threading

import numpy as np

from datasets import idx
from twins.numpy_twin import NumpyTwin
from twins.torch_twin import TorchTwin

# The twins on the CPU, as the tests build and train them (no process-wide set-up: that is
# twins.load_twin's, which the commands call).
NP, TORCH = NumpyTwin(), TorchTwin()


def idx_bytes(array, magic):
    dims = array.shape
    return struct.pack(f">I{len(dims)}I", magic, *dims) + array.astype(np.uint8).tobytes()


def tiny_mnist(n_train=600, n_test=100, seed=0):
    """{file name: uncompressed IDX bytes} of a small random data set with MNIST's layout, which
    a network can learn (class c lights the 7x7 block c of the 4x4 grid of blocks; 60% of each
    image's pixels are its class's picture, the rest noise), so that a one-epoch run, of the
    MLP or of a small CNN, ends above chance, as a run that did not fail must."""
    rng = np.random.default_rng(seed)
    templates = np.kron(255 * np.eye(16, dtype=int)[:10].reshape(10, 4, 4), np.ones((7, 7), int))
    def images(labels):
        noise = rng.integers(0, 256, (len(labels), 28, 28))
        return np.where(rng.random(noise.shape) < 0.6, templates[labels], noise)
    y_train, y_test = rng.integers(0, 10, n_train), rng.integers(0, 10, n_test)
    arrays = {"train-images-idx3-ubyte": images(y_train), "train-labels-idx1-ubyte": y_train,
              "t10k-images-idx3-ubyte": images(y_test), "t10k-labels-idx1-ubyte": y_test}
    return {name: idx_bytes(a, idx.FILES[name][0]) for name, a in arrays.items()}


def write_mnist(folder, files=None, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in (files or tiny_mnist()).items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / name).write_bytes(raw)
    return folder


class Mirror:
    """An HTTP server on 127.0.0.1 serving {path: bytes}, with Range support.

    cut_after: close the connection after that many bytes of a response (a broken transfer)."""

    def __init__(self, files, cut_after=None):
        self.files, self.cut_after, self.requests = files, cut_after, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                mirror.requests.append((self.path, self.headers.get("Range")))
                body = mirror.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    status = 206
                    if start >= len(body):
                        self.send_error(416)
                        return
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:]
                if mirror.cut_after is not None:
                    chunk = chunk[:mirror.cut_after]
                    mirror.cut_after = None            # only the first transfer breaks
                self.wfile.write(chunk)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def interrupt(args, cwd, when, sig=signal.SIGINT):
    """Run `python *args`, send it `sig` (Ctrl-C's SIGINT unless another) once a line of its
    output contains `when`; (exit code, stdout, stderr)."""
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if when in line:
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + out, err
