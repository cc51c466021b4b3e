#!/usr/bin/env bash
# Runs every peer workload and appends one JSON record per result to benches/peers/results.jsonl:
# the Leaky layer (B=128, N=4096, T=100, fp32) and the training step (784-1000-10, T=25, batch 128,
# input densities 0.13 and 0.5) for snnTorch, SpikingJelly and Norse at each thread count, the
# layer with snnTorch and Norse slicing the input with x[t] at the first thread count, and the
# layer's sweep over N at 1 thread.
#
#   benches/peers/run_all.sh                        # everything (README.md: time and memory)
#   benches/peers/run_all.sh --no-sweep --note "measured while other builds ran"
#   PYTHON=/tmp/peersvenv/bin/python benches/peers/run_all.sh --quick --out /tmp/smoke.jsonl
#
# Options: --quick (the scripts' smoke-test sizes), --no-sweep, --threads "1 2" (the thread
# counts), --sweep "64,256,1024,4096,16384" (the N of the sweep), --note TEXT (stored in every
# record), --out FILE (default benches/peers/results.jsonl; records are appended).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
out=$here/results.jsonl
threads_list="1 2"
sweep="64,256,1024,4096,16384"
do_sweep=1
quick=()
note=()

while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=(--quick); shift ;;
        --no-sweep) do_sweep=0; shift ;;
        --threads) [ $# -ge 2 ] || { echo "error: --threads needs a list such as \"1 2\"" >&2; exit 2; }
                   threads_list=$2; shift 2 ;;
        --sweep) [ $# -ge 2 ] || { echo "error: --sweep needs a list such as 64,256,1024" >&2; exit 2; }
                 sweep=$2; shift 2 ;;
        --note) [ $# -ge 2 ] || { echo "error: --note needs a text" >&2; exit 2; }
                note=(--note "$2"); shift 2 ;;
        --out) [ $# -ge 2 ] || { echo "error: --out needs a file name" >&2; exit 2; }
               out=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for t in $threads_list; do
    case $t in
        ''|*[!0-9]*|0) echo "error: --threads: \"$t\" is not a whole number >= 1" >&2; exit 2 ;;
    esac
done

"$python" -c "import torch, snntorch, spikingjelly, norse" 2>/dev/null || {
    echo "error: $python cannot import torch, snntorch, spikingjelly and norse;" \
         "set PYTHON to the venv's python (README.md, Set-up)" >&2
    exit 2
}

run() {
    echo "+ $*" >&2
    # OMP_NUM_THREADS as well, so that no library's own thread pool exceeds the count asked for
    OMP_NUM_THREADS=$threads "$python" -W ignore "$here/$1" "${@:2}" --threads "$threads" --json \
        "${quick[@]}" "${note[@]}" | tee -a "$out"
}

first=1
for threads in $threads_list; do
    run layer.py
    if [ $first = 1 ]; then
        # snnTorch and Norse slicing the input with x[t]: its O(T^2) backward (README.md)
        run layer.py --library snntorch,norse --input-loop index --repeats 3
        first=0
    fi
    run train_step.py --density 0.13
    run train_step.py --density 0.5
done
if [ $do_sweep = 1 ]; then
    threads=1
    run layer.py --neurons "$sweep" --repeats 3
fi
echo "appended to $out" >&2
