#!/usr/bin/env bash
# The seed paper's experiments on this machine: speed (time per training
# iteration and samples per second of the 784-1000-10 network across the
# neuron models, batch sizes 16-512, fp16 and fp32, a population code; the
# IPU column is the cycle model's estimate) and accuracy on the bundled
# digits (fp16 against fp32; a population code against one neuron per
# class, with the time each takes). Writes Markdown to stdout; about
# 15 minutes (SNN_BENCH_QUICK=1: about 3).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "## Speed"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u +%Y-%m-%d)."
cargo bench --quiet --bench seed_paper 2>/dev/null

echo
echo "## Accuracy on the bundled digits (64-256-10 unless said, 30 epochs, seed 1)"
echo
echo "| run | command | final test accuracy | wall time |"
echo "| --- | --- | --- | --- |"
epochs=30
if [ -n "${SNN_BENCH_QUICK:-}" ]; then epochs=3; fi
cargo build --release --quiet
run() {
  local name="$1"; shift
  local start end accuracy
  start=$(date +%s.%N)
  accuracy=$(./target/release/snn-ipu train --epochs "$epochs" "$@" 2>/dev/null \
    | grep -o 'test [0-9.]*%' | tail -n 1 || true)
  end=$(date +%s.%N)
  printf '| %s | `snn-ipu train --epochs %s %s` | %s | %.1f s |\n' \
    "$name" "$epochs" "$*" "${accuracy:-?}" "$(awk "BEGIN { print $end - $start }")"
}
run "fp32" --precision f32
run "fp16" --precision f16
run "one neuron per class, T = 25" --steps 25
run "population code, 50 per class, T = 10" --population 50 --steps 10
