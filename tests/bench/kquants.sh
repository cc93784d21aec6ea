#!/usr/bin/env bash
# K-quant files of the synthetic TinyLlama shape, made by `hearth quantize` from its F16 file,
# against Q4_0 of the same shape: prefill pp128 and decode tg128 (`hearth bench -p 128 -n 128
# -r 3 --bandwidth`, 2 threads, medians of 3 after a warm-up), decode's share of the memory
# roofline, peak RSS. The machine's speed wanders, so the files are benched in ROUNDS (3)
# interleaved rounds; the table shows the median of the rounds, the rounds in brackets. The
# llama.cpp columns are the yardsticks quoted for Q4_K_M (same machine kind, same shape):
# pp128 98 tok/s, tg64 50 tok/s.
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
for type in q4_K_M q6_K q2_K; do
  [ -s "$work/tinyllama-$type.gguf" ] ||
    "$hearth" quantize "$work/tinyllama-f16.gguf" "$work/tinyllama-$type.gguf" "$type" 2>/dev/null
done

types="q4_0 q4_K_M q6_K q2_K"
for round in $(seq "${ROUNDS:-3}"); do
  for type in $types; do
    "$hearth" bench -m "$work/tinyllama-$type.gguf" -p 128 -n 128 -r 3 -t 2 --bandwidth --json \
      2>/dev/null | tr -d '\n' >> "$work/bench-$type.jsonl"
    echo >> "$work/bench-$type.jsonl"
  done
done

python3 - "$work" $types <<'PY'
import json, os, statistics, sys
work, types = sys.argv[1], sys.argv[2:]
median = statistics.median
print("| file | prefill pp128 tok/s | ÷ Q4_0 | ÷ llama.cpp Q4_K_M (98, quoted) | decode tg128 tok/s "
      "| ÷ Q4_0 | ÷ llama.cpp Q4_K_M (50, quoted) | decode % of roofline | peak RSS MiB | file MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
rows = {}
for t in types:
    path = f"{work}/bench-{t}.jsonl"
    runs = [json.loads(line) for line in open(path) if line.strip()]
    os.remove(path)
    pp = [r["prefill_tok_s"] for r in runs]
    tg = [r["decode_tok_s"] for r in runs]
    roof = [{x["test"]: x for x in r["results"]}.get("tg128", {}).get("roofline_pct", 0)
            for r in runs]
    rows[t] = (pp, tg, roof, max(r["peak_rss_bytes"] for r in runs) / 2**20)
base_pp, base_tg = median(rows["q4_0"][0]), median(rows["q4_0"][1])
rounds = lambda v: f"{median(v):.1f} ({', '.join(f'{x:.1f}' for x in v)})"
for t in types:
    pp, tg, roof, rss = rows[t]
    size = os.path.getsize(f"{work}/tinyllama-{t}.gguf") / 2**20
    print(f"| {t} | {rounds(pp)} | {median(pp) / base_pp:.2f} | {median(pp) / 98:.2f} "
          f"| {rounds(tg)} | {median(tg) / base_tg:.2f} | {median(tg) / 50:.2f} "
          f"| {median(roof):.0f}% | {rss:.0f} | {size:.0f} |")
PY
