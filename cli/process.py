"""The process set-up every command imports first, before NumPy loads:

- OpenBLAS's idle threads spin after each matrix product, on the cores that the NumPy twin's
  optimizer threads need next (and torch's threads, where both twins share a process): they
  are let sleep at once. Measured on 2 cores: a NumPy training step 7% faster; a product that
  took 0.05 ms alone took 4 ms when NumPy and torch alternated. It costs about 12 microseconds
  per product, and must be set before NumPy is loaded.
- glibc's malloc keeps freed blocks for reuse. By default an array over a few MB is mmap'ed
  from the kernel and handed back when freed, so the next step's array of the same size starts
  as untouched pages, faulted in one 4 KiB page at a time: 30% of a NumPy CNN step (its im2col
  columns are 20 MB). Held memory stays bounded by the largest step's working set. A no-op
  where the C library is not glibc.
- Standard output closed by its reader (`python predict.py ... | head -3`): the rest of it is
  dropped, not the run. The default turned the next print into a BrokenPipeError traceback,
  and stopped a training run piped to `head` before it saved anything.
"""
import ctypes
import io
import os
import sys

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

try:
    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallopt(-4, 0)              # M_MMAP_MAX: every block comes from the heap
    _libc.mallopt(-1, 1 << 30)        # M_TRIM_THRESHOLD: and is not handed back
except (OSError, AttributeError):
    pass


class _ReaderGone(io.TextIOWrapper):
    """sys.stdout whose reader may leave: once a write or flush meets a closed pipe, standard
    output goes to os.devnull for the rest of the process (Python's documented remedy), and
    the command carries on."""

    def _dropped(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
            return None

    def write(self, text):
        self._dropped(super().write, text)
        return len(text)

    def flush(self):
        self._dropped(super().flush)


if sys.stdout is not None and sys.stdout is sys.__stdout__:   # a command's own, not a test's
    _was = sys.stdout                     # its buffering kept: PYTHONUNBUFFERED, a terminal's lines
    sys.stdout = sys.__stdout__ = _ReaderGone(_was.detach(), encoding=_was.encoding,
                                              errors=_was.errors,
                                              line_buffering=_was.line_buffering,
                                              write_through=_was.write_through)
