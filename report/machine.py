"""The line every generated section gives its numbers' machine, threads and versions by."""
import os
import platform
import re
from pathlib import Path

import numpy as np
import pandas as pd


# An Arm processor's /proc/cpuinfo names no model, only its maker's code (the MIDR register's
# implementer field, as Linux's lscpu reads it) and the part's number
ARM_MAKERS = {"0x41": "Arm", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu",
              "0x48": "HiSilicon", "0x4e": "NVIDIA", "0x51": "Qualcomm", "0x53": "Samsung",
              "0x56": "Marvell", "0x61": "Apple", "0x6d": "Microsoft", "0x70": "Phytium",
              "0xc0": "Ampere"}
VECTORS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sve2", "SVE2"),
           ("sve", "SVE"), ("asimd", "NEON"), ("neon", "NEON"))   # widest first


def cpu_of(cpuinfo):
    """The processor as /proc/cpuinfo's text describes it, e.g. 'AMD EPYC (family 25, model 1;
    AVX2)', from the first processor's block that names one (a machine of mixed processors is
    named by that one); None where no block names one. A virtual machine often shows only the
    maker's line ('AMD EPYC'); the family and model numbers tell its generations apart, the widest
    vector instructions decide which of BLAS's kernels run, so how float32 sums are rounded
    (two hosts of one name part: docs/training.md). An Arm processor, which names no model, is
    named by its maker and part number, e.g. 'Arm (part 0xd0c; NEON)' for a Neoverse N1; every
    part is listed where the cores differ (big.LITTLE: 'parts 0xd05, 0xd0b')."""
    blocks = [dict((key.strip(), value.strip()) for key, _, value in
                   (line.partition(":") for line in block.splitlines()) if _)
              for block in re.split(r"\n\s*\n", cpuinfo.replace("\r\n", "\n"))]  # a processor each
    fields = next((f for f in blocks if f.get("model name") or f.get("CPU part")), None)
    if fields is None:
        return None
    parts = list(dict.fromkeys(f["CPU part"].lower() for f in blocks if f.get("CPU part")))
    ids = [f"{word} {fields[key]}" for key, word in (("cpu family", "family"), ("model", "model"))
           if fields.get(key, "").isdigit()]
    ids += [f"part{'s' * (len(parts) > 1)} {', '.join(parts)}"] if parts else []
    maker = fields.get("CPU implementer", "").lower()
    name = fields.get("model name") or ARM_MAKERS.get(maker) or f"implementer {maker or '?'}"
    flags = set(fields.get("flags", fields.get("Features", "")).split())
    vector = next((shown for flag, shown in VECTORS if flag in flags), None)
    detail = "; ".join(part for part in (", ".join(ids), vector) if part)
    return f"{name} ({detail})" if detail else name


def machine_line(device="cpu", threads=1):
    """e.g. 'AMD EPYC (family 25, model 1; AVX2), 2 cores, 2 threads per twin; Python 3.11.7,
    NumPy 2.4.6, PyTorch 2.13.0+cpu' (and the GPU with device cuda)."""
    import torch
    try:
        cpu = cpu_of(Path("/proc/cpuinfo").read_text()) or platform.processor()
    except OSError:
        cpu = platform.processor()
    cpu = cpu or platform.machine()
    gpu = f", GPU {torch.cuda.get_device_name()}" if device == "cuda" else ""
    cores = len(os.sched_getaffinity(0))
    return (f"{cpu}, {cores} core{'s' * (cores != 1)}, {threads} "
            f"thread{'s' * (threads != 1)} per twin{gpu}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}, "
            f"PyTorch {torch.__version__}")


UNRECORDED = "a machine not recorded"


def machines_of(table):
    """The machines a results table's rows were measured on (its `machine` column, written by
    compare.py with each row; rows from before it was kept: UNRECORDED), as (text, labels):
    the words a section names them by ('on: ...'), and each row's label: '' where every row
    shares one machine, else '(a)', '(b)', ... in the order they first appear, which the text
    explains."""
    names = (table["machine"].fillna(UNRECORDED) if "machine" in table
             else pd.Series(UNRECORDED, index=table.index))
    unique = list(dict.fromkeys(names))
    if len(unique) == 1:
        return f"on: {unique[0]}", pd.Series("", index=table.index)
    letters = {m: f"({chr(ord('a') + i)})" for i, m in enumerate(unique)}
    return ("on the machines its column `machine` names: "
            + "; ".join(f"{letters[m]} {m}" for m in unique)), names.map(letters)


def labels_of(labels, rows):
    """The machine labels of the table rows `rows` (one shown row standing for several seeds,
    which may come from several machines): each once, in order, e.g. '(a), (b)'."""
    return ", ".join(dict.fromkeys(label for label in labels[rows.index] if label))
