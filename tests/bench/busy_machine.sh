#!/usr/bin/env bash
# Decode speed with 1 thread and with the default thread count, on an idle machine and beside
# one competing busy process (`yes`), alternating the two counts so both see the same
# conditions. Prints the median of ROUNDS rounds and the ratio default/1 for each condition.
# usage: tests/bench/busy_machine.sh MODEL [ROUNDS] [BUILD_DIR]
#   HEARTH_BENCH_THREADS  the thread count compared with 1 (default 2)
#   HEARTH_BENCH_LOAD     "idle loaded" (default), or one of them
# Make a model with ../shared/tools/synth_gguf.py (e.g. tinyllama-1.1b --type q4_0) outside
# the tree. Run it on an otherwise idle machine: no compiler or other benchmark running.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:?usage: busy_machine.sh MODEL [ROUNDS] [BUILD_DIR]}
rounds=${2:-5}
hearth=${3:-$src/build/release}/bin/hearth
threads=${HEARTH_BENCH_THREADS:-2}
loads=${HEARTH_BENCH_LOAD:-idle loaded}

competitor=
stop_competitor() {
  if [ -n "$competitor" ]; then
    kill "$competitor" 2>/dev/null || true
    wait "$competitor" 2>/dev/null || true
    competitor=
  fi
}
trap stop_competitor EXIT

decode_rate() {
  "$hearth" bench -m "$model" -p 0 -n 64 -r 3 -t "$1" --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["decode_tok_s"])'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "| load | 1 thread tok/s | $threads threads tok/s | ratio | runs (1 / $threads) |"
echo "|---|---|---|---|---|"
for load in $loads; do
  if [ "$load" = loaded ]; then
    yes > /dev/null &
    competitor=$!
  fi
  one=() many=()
  for ((round = 0; round < rounds; ++round)); do
    one+=("$(decode_rate 1)")
    many+=("$(decode_rate "$threads")")
  done
  stop_competitor
  m1=$(median "${one[@]}")
  mn=$(median "${many[@]}")
  echo "| $load | $m1 | $mn | $(awk -v a="$mn" -v b="$m1" 'BEGIN {printf "%.2f", a / b}') |" \
    "${one[*]} / ${many[*]} |"
done
