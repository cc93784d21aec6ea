#!/usr/bin/env bash
# K-quant files of the synthetic TinyLlama shape, made by `hearth quantize` from its F16 file,
# against Q4_0 of the same shape: prefill pp128 and decode tg128 (`hearth bench -p 128 -n 128
# -r 3 --bandwidth`, 2 threads, medians of 3 after a warm-up), decode's share of the memory
# roofline, peak RSS. The llama.cpp columns are the yardsticks quoted for Q4_K_M (same
# machine kind, same shape): pp128 98 tok/s, tg64 50 tok/s.
# usage: tests/bench/kquants.sh [WORK_DIR] [BUILD_DIR]
# WORK_DIR keeps the model files (about 4.4 GB) between runs. Run it on an idle machine.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build/kquants}
hearth=${2:-$src/build/release}/bin/hearth
mkdir -p "$work"
vocab=$src/tests/data/tokenizer/ggml-vocab-llama-spm.gguf
for type in f16 q4_0; do
  [ -s "$work/tinyllama-$type.gguf" ] ||
    python3 "$src/../shared/tools/synth_gguf.py" tinyllama-1.1b "$work/tinyllama-$type.gguf" \
      "$vocab" --type "$type" >/dev/null
done
for type in q4_K_M q6_K; do
  [ -s "$work/tinyllama-$type.gguf" ] ||
    "$hearth" quantize "$work/tinyllama-f16.gguf" "$work/tinyllama-$type.gguf" "$type" 2>/dev/null
done

echo "| file | prefill pp128 tok/s | ÷ Q4_0 | ÷ llama.cpp Q4_K_M (98, quoted) | decode tg128 tok/s | ÷ Q4_0 | ÷ llama.cpp Q4_K_M (50, quoted) | decode % of roofline | peak RSS MiB | file MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
base_pp=0
base_tg=0
for type in q4_0 q4_K_M q6_K; do
  file=$work/tinyllama-$type.gguf
  json=$("$hearth" bench -m "$file" -p 128 -n 128 -r 3 -t 2 --bandwidth --json 2>/dev/null)
  read -r pp tg roof rss < <(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
tests = {t["test"]: t for t in r["results"]}
print(r["prefill_tok_s"], r["decode_tok_s"], tests.get("tg128", {}).get("roofline_pct", 0),
      r["peak_rss_bytes"] / 1048576)' "$json")
  if [ "$type" = q4_0 ]; then base_pp=$pp; base_tg=$tg; fi
  python3 -c '
import os, sys
t, pp, tg, roof, rss, bpp, btg, f = sys.argv[1:]
pp, tg, bpp, btg = map(float, (pp, tg, bpp, btg))
print(f"| {t} | {pp:.1f} | {pp / bpp:.2f} | {pp / 98:.2f} | {tg:.1f} | {tg / btg:.2f} | "
      f"{tg / 50:.2f} | {float(roof):.0f}% | {float(rss):.0f} | {os.path.getsize(f) / 1048576:.0f} |")
' "$type" "$pp" "$tg" "$roof" "$rss" "$base_pp" "$base_tg" "$file"
done
