#!/usr/bin/env bash
# Aggregate decode throughput of 1, 4 and 16 concurrent streams (prompt 128, 64 new tokens)
# through the scheduler, beside single-stream prefill and decode, with the ratio to
# llama-batched-bench's figures. Those are measured in the same run when LLAMA_BATCHED_BENCH
# points to the binary; otherwise the yardsticks quoted for this kind of machine (same file,
# 2 threads: 63 / 130 / 105 tok/s) are used and marked "quoted". HEARTH_BASELINE may name an
# older hearth binary whose single-stream figures are measured in the same run.
# usage: tests/bench/parallel_streams.sh MODEL [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:?usage: parallel_streams.sh MODEL [BUILD_DIR]}
hearth=${2:-$src/build/release}/bin/hearth
streams=(1 4 16)
quoted=(63 130 105)

field() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

parallel_json=$("$hearth" bench -m "$model" --parallel 1,4,16 -p 128 -n 64 -r 3 --json)
single_json=$("$hearth" bench -m "$model" -p 128 -n 64 -r 3 --json)

llama=()
label=quoted
if [ -n "${LLAMA_BATCHED_BENCH:-}" ]; then
  label="same run"
  out=$("$LLAMA_BATCHED_BENCH" -m "$model" -t 2 -c 4096 -b 2048 -ub 512 -npp 128 -ntg 64 \
    -npl 1,4,16 2>/dev/null)
  # Rows: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
  for n in "${streams[@]}"; do
    llama+=("$(printf '%s\n' "$out" | awk -F'|' -v b="$n" '$2+0 == 128 && $4+0 == b {print $9+0}')")
  done
else
  llama=("${quoted[@]}")
fi

echo "| streams | hearth decode tok/s (all streams) | llama-batched-bench ($label) | ratio | TTFT max s |"
echo "|---|---|---|---|---|"
for i in "${!streams[@]}"; do
  rate=$(printf '%s' "$parallel_json" | field "d['results'][$i]['decode_tok_s']")
  ttft=$(printf '%s' "$parallel_json" | field "d['results'][$i]['ttft_max_s']")
  echo "| ${streams[$i]} | $rate | ${llama[$i]} | $(awk -v a="$rate" -v b="${llama[$i]}" \
    'BEGIN {printf "%.2fx", a / b}') | $ttft |"
done
echo
pp=$(printf '%s' "$single_json" | field "d['prefill_tok_s']")
tg=$(printf '%s' "$single_json" | field "d['decode_tok_s']")
echo "single stream (hearth bench -p 128 -n 64): prefill $pp tok/s, decode $tg tok/s"
if [ -n "${HEARTH_BASELINE:-}" ]; then
  base=$("$HEARTH_BASELINE" bench -m "$model" -p 128 -n 64 -r 3 --json)
  bpp=$(printf '%s' "$base" | field "d['prefill_tok_s']")
  btg=$(printf '%s' "$base" | field "d['decode_tok_s']")
  echo "baseline $HEARTH_BASELINE: prefill $bpp tok/s, decode $btg tok/s" \
    "(ratios $(awk -v a="$pp" -v b="$bpp" 'BEGIN {printf "%.2f", a / b}')," \
    "$(awk -v a="$tg" -v b="$btg" 'BEGIN {printf "%.2f", a / b}'))"
fi
