"""The line every generated section gives its numbers' machine, threads and versions by."""
import os
import platform
import re
from pathlib import Path

import numpy as np


def machine_line(device="cpu", threads=1):
    """e.g. 'Intel(R) Xeon(R) Processor, 2 cores, 2 threads per twin; Python 3.11.7, NumPy
    2.4.6, PyTorch 2.13.0+cpu' (and the GPU with device cuda)."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if device == "cuda" else ""
    return (f"{cpu}, {len(os.sched_getaffinity(0))} cores, {threads} threads per twin{gpu}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}, "
            f"PyTorch {torch.__version__}")
