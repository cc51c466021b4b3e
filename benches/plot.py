#!/usr/bin/env python3
"""Plots the Leaky layer's throughput against N: the peers (benches/peers/results.jsonl) and
ours (benches/results/ours.jsonl), fp32 and fp16, forward + backward and forward.

    python benches/plot.py                                # writes benches/throughput.png
    python benches/plot.py --threads 2 --out /tmp/t2.png
    python benches/plot.py --ours /tmp/mine.jsonl --peers benches/peers/results.jsonl

Both files hold one JSON record per line, in the schema of benches/peers/README.md ("Result
records"). Only records with workload "leaky_layer", the asked-for thread count, batch and
steps are drawn, except the peers' x[t] input loop ("input_loop": "index", a cost of that
harness); where several records share a library, precision, metric and N (repeated runs),
the best value is drawn. A missing ours file is not an error: the plot then shows the
peers only, and says so in its title. Needs matplotlib (in benches/peers/requirements.txt).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PANELS = (("forward_backward", "forward + backward"), ("forward", "forward"))
STYLE = {"fp32": "-", "fp16": "--", "f16-storage": ":", "bf16": "-."}


def load(path, source):
    """The records of a JSON-lines file; refuses a malformed line with its number."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"error: {path}:{number}: not a JSON object ({e.msg}); fix or remove that line")
            if not isinstance(rec, dict):
                sys.exit(f"error: {path}:{number}: expected a JSON object, got {type(rec).__name__}")
            rec["_source"] = source
            records.append(rec)
    return records


def series(records, threads, batch, steps):
    """{(library, precision, metric): {N: best value}} of the matching layer records."""
    out = {}
    for rec in records:
        size = rec.get("size")
        if rec.get("workload") != "leaky_layer" or not isinstance(size, dict):
            continue
        if rec.get("threads") != threads or size.get("batch") != batch or size.get("steps") != steps:
            continue
        if rec.get("input_loop") == "index":
            continue  # the x[t] harness's O(T^2) backward (peers/README.md), not the layer's cost
        metric, n, value = rec.get("metric"), size.get("neurons"), rec.get("value")
        if metric not in dict(PANELS) or not isinstance(n, int) or not isinstance(value, (int, float)):
            continue
        key = (rec.get("library", "?"), rec.get("precision", "fp32"), metric)
        points = out.setdefault(key, {})
        points[n] = max(points.get(n, 0.0), float(value))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peers", default=os.path.join(HERE, "peers", "results.jsonl"))
    p.add_argument("--ours", default=os.path.join(HERE, "results", "ours.jsonl"))
    p.add_argument("--out", default=os.path.join(HERE, "throughput.png"))
    p.add_argument("--threads", type=int, default=1, help="the thread count to plot (default 1)")
    p.add_argument("--batch", type=int, default=128, help="B of the records to plot (default 128)")
    p.add_argument("--steps", type=int, default=100, help="T of the records to plot (default 100)")
    args = p.parse_args(argv)

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("error: matplotlib is missing: pip install -r benches/peers/requirements.txt")

    records = []
    if os.path.exists(args.peers):
        records += load(args.peers, "peers")
    else:
        print(f"no peer results at {args.peers}: plotting ours only", file=sys.stderr)
    have_ours = os.path.exists(args.ours)
    if have_ours:
        records += load(args.ours, "ours")
    else:
        print(f"no results of ours at {args.ours}: plotting the peers only", file=sys.stderr)

    data = series(records, args.threads, args.batch, args.steps)
    if not data:
        sys.exit(
            f"error: no leaky_layer records with threads={args.threads}, batch={args.batch}, "
            f"steps={args.steps} in {args.peers} or {args.ours}; run benches/peers/run_all.sh "
            "or choose other --threads/--batch/--steps"
        )

    libraries = sorted({k[0] for k in data})
    colours = {lib: f"C{i}" for i, lib in enumerate(libraries)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, (metric, title) in zip(axes, PANELS):
        for (lib, precision, m), points in sorted(data.items()):
            if m != metric:
                continue
            ns = sorted(points)
            ax.plot(ns, [points[n] for n in ns], STYLE.get(precision, "-"), marker="o",
                    color=colours[lib], label=f"{lib} {precision}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("neurons N")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    axes[0].set_ylabel("neuron-steps per second")
    what = "ours and the peers" if have_ours else "the peers only (no results of ours)"
    fig.suptitle(
        f"Leaky layer throughput, B = {args.batch}, T = {args.steps}, {args.threads} thread(s): {what}"
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
