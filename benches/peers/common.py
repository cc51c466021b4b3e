"""Shared helpers of the peer benchmarks: argument checks, threads, timing, result records.

Every result is one JSON object (see README.md, "Result records"); the scripts print one per
line with --json, or a readable line otherwise.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from importlib import metadata

LIBRARIES = ("snntorch", "spikingjelly", "norse")

# the distribution names on PyPI of the libraries and of torch
_DISTRIBUTIONS = {"snntorch": "snntorch", "spikingjelly": "spikingjelly", "norse": "norse", "torch": "torch"}


def positive_int(text):
    """argparse type: an integer >= 1, or an error that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def int_list(text):
    """argparse type: comma-separated integers >= 1 (for example 64,256,1024)."""
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers >= 1, got {text!r}")
    return [positive_int(p.strip()) for p in parts]


def probability(text):
    """argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value}")
    return value


def library_list(text):
    """argparse type: 'all' or comma-separated library names."""
    if text == "all":
        return list(LIBRARIES)
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown library {', '.join(unknown) or repr(text)}: choose 'all' or any of {', '.join(LIBRARIES)}"
        )
    return names


def set_threads(threads):
    """Sets torch's intra-op threads (and refuses more than this machine has)."""
    import torch

    available = os.cpu_count() or 1
    if threads > available:
        sys.exit(f"error: --threads {threads}: this machine has {available} logical CPUs; choose 1..{available}")
    torch.set_num_threads(threads)
    if torch.get_num_threads() != threads:
        sys.exit(f"error: torch runs {torch.get_num_threads()} threads, not the {threads} asked for")


def version(name):
    try:
        return metadata.version(_DISTRIBUTIONS.get(name, name))
    except metadata.PackageNotFoundError:
        return None


def machine():
    """The CPU model from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def best_of(fn, warmup, repeats):
    """Runs fn warmup times untimed, then repeats times; returns (best, median) seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def record(library, workload, threads, size, precision, metric, value, unit, best_s, median_s, repeats, note):
    """One result record (README.md, "Result records")."""
    rec = {
        "library": library,
        "version": version(library),
        "torch": version("torch"),
        "workload": workload,
        "threads": threads,
        "size": size,
        "precision": precision,
        "metric": metric,
        "value": value,
        "unit": unit,
        "best_s": best_s,
        "median_s": median_s,
        "repeats": repeats,
        "date": now(),
        "machine": machine(),
        "cpus": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }
    if note:
        rec["note"] = note
    return rec


def emit(rec, as_json):
    if as_json:
        print(json.dumps(rec), flush=True)
    else:
        size = " ".join(f"{k}={v}" for k, v in rec["size"].items())
        print(
            f"{rec['library']:>12} {rec['version'] or '?':>8}  {rec['workload']} {rec['precision']} "
            f"{rec['threads']} thread(s)  {size}  {rec['metric']}: {rec['value']:.4g} {rec['unit']}",
            flush=True,
        )
