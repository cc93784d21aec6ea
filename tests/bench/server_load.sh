#!/usr/bin/env bash
# `hearth serve` under load, as llama-server was measured for the yardsticks quoted in the
# server's figures: the synthetic TinyLlama Q4_0 file, 2 threads, 16 requests generating at
# once, short prompts, 64 streamed tokens per request, greedy. For 1, 4 and 16 concurrent
# clients (tests/bench/server_load.mjs, SECONDS each): aggregate generated tok/s and time to
# first token p50/p95, failed requests, and the server's resident memory before and after each
# run. The run fails if any request failed or resident memory grew by more than 5% in a run.
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

# Warm-up: every slot used once, so that the runs below meet a server at its working size.
node "$src/tests/bench/server_load.mjs" "http://127.0.0.1:$port" 16 5 64 >/dev/null
: >"$work/load.jsonl"
for clients in ${CLIENTS:-1 4 16}; do
  before=$(rss)
  node "$src/tests/bench/server_load.mjs" "http://127.0.0.1:$port" "$clients" "$seconds" 64 \
    >"$work/run.json"
  after=$(rss)
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["rss_kib"] = [int(sys.argv[2]), int(sys.argv[3])]; print(json.dumps(r))' \
    "$work/run.json" "$before" "$after" | tee -a "$work/load.jsonl"
done
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT

python3 - "$work/load.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
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
for r in rows:
    a, b = r["rss_kib"]
    print(f'{r["clients"]} clients: resident memory {a / 1024:.1f} MiB before, {b / 1024:.1f} MiB '
          f'after ({(b - a) / a * 100:+.2f}%)')
failed = sum(r["failures"] for r in rows)
grown = [r["clients"] for r in rows if r["rss_kib"][1] > r["rss_kib"][0] * 1.05]
if failed or grown:
    sys.exit(f"FAIL: {failed} failed requests; resident memory grew by over 5% in runs {grown}")
PY
