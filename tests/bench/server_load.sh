#!/usr/bin/env bash
# `hearth serve` under load, as llama-server was measured for the yardsticks quoted in the
# server's figures: the synthetic TinyLlama Q4_0 file, 2 threads, 16 requests generating at
# once, short prompts, 64 streamed tokens per request, greedy. For 1, 4 and 16 concurrent
# clients (tests/bench/server_load.mjs, SECONDS each): aggregate generated tok/s and time to
# first token p50/p95, failed requests, and the server's resident memory after the first and
# the last run. The run fails if any request failed or resident memory grew by more than 5%.
# usage: tests/bench/server_load.sh [WORK_DIR] [BUILD_DIR]   (SECONDS_PER_RUN=60, CLIENTS="1 4 16")
# Run it on an idle machine.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build/server_load}
hearth=${2:-$src/build/release}/bin/hearth
seconds=${SECONDS_PER_RUN:-60}
mkdir -p "$work"
model=$work/tinyllama-q4_0.gguf
[ -s "$model" ] ||
  python3 "$src/../shared/tools/synth_gguf.py" tinyllama-1.1b "$model" \
    "$src/tests/data/tokenizer/ggml-vocab-llama-spm.gguf" --type q4_0 >/dev/null

"$hearth" serve -m "$model" -t 2 --parallel 16 --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\))$/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

node "$src/tests/bench/server_load.mjs" "http://127.0.0.1:$port" 2 5 16 >/dev/null  # warm-up
: >"$work/load.jsonl"
first_rss=""
for clients in ${CLIENTS:-1 4 16}; do
  node "$src/tests/bench/server_load.mjs" "http://127.0.0.1:$port" "$clients" "$seconds" 64 \
    | tee -a "$work/load.jsonl"
  [ -n "$first_rss" ] || first_rss=$(rss)
done
last_rss=$(rss)
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT

python3 - "$work/load.jsonl" "$first_rss" "$last_rss" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
first, last = int(sys.argv[2]), int(sys.argv[3])
yard = {1: (53.6, 0.07), 4: (105.3, 0.34), 16: (126.1, 0.67)}  # llama-server, quoted
print("| clients | requests | failed | aggregate tok/s | ÷ llama-server (quoted) | TTFT p50 s "
      "| TTFT p95 s | llama-server p95 (quoted) |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    y = yard.get(r["clients"])
    print(f'| {r["clients"]} | {r["requests"]} | {r["failures"]} | {r["aggregate_tok_s"]:.1f} '
          f'| {r["aggregate_tok_s"] / y[0]:.2f}× | {r["ttft_p50_s"]:.3f} | {r["ttft_p95_s"]:.3f} '
          f'| {y[1]} |' if y else f'| {r["clients"]} | {r["requests"]} | {r["failures"]} '
          f'| {r["aggregate_tok_s"]:.1f} | | {r["ttft_p50_s"]:.3f} | {r["ttft_p95_s"]:.3f} | |')
print(f"resident memory after the first run {first / 1024:.1f} MiB, after the last "
      f"{last / 1024:.1f} MiB ({(last - first) / first * 100:+.1f}%)")
failed = sum(r["failures"] for r in rows)
if failed or last > first * 1.05:
    sys.exit(f"FAIL: {failed} failed requests, resident memory {first} -> {last} KiB")
PY
