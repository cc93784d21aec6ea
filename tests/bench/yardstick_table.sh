#!/usr/bin/env bash
# Prints hearth's speed beside llama.cpp's on the synthetic TinyLlama-1.1B shape (F16, Q8_0,
# Q4_0) and on stories260K, plus long-context decode, peak memory and decode as a share of
# the memory roofline.
# usage: tests/bench/yardstick_table.sh [BUILD_DIR] [SYNTH_TOOL]
#   LLAMA_BENCH=/path/to/llama-bench  measures llama.cpp on the same files in the same run;
#   without it the llama.cpp column holds yardsticks measured side by side with hearth on a
#   machine of the development kind (2 threads, same files, 2026-11-25), marked "quoted".
# The synthetic GGUF files (random weights, 0.6-2.2 GB) are generated once into
# BUILD_DIR/models and never committed. Run it on an otherwise idle machine.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build/release}
synth=${2:-$src/../shared/tools/synth_gguf.py}
hearth=$build/bin/hearth
models=$build/models
vocab=$src/tests/data/tokenizer/ggml-vocab-llama-spm.gguf
threads=${HEARTH_BENCH_THREADS:-2}
llama_bench=${LLAMA_BENCH:-}
mkdir -p "$models"

for type in f16 q8_0 q4_0; do
  file=$models/tinyllama-$type.gguf
  if [ ! -f "$file" ]; then
    echo "generating $file" >&2
    /usr/bin/python3 "$synth" tinyllama-1.1b "$file.tmp" "$vocab" --type "$type"
    mv "$file.tmp" "$file"
  fi
done

bench() { "$hearth" bench -m "$1" -t "$2" "${@:3}" --json 2>/dev/null; }

# llama_rates FILE THREADS PROMPT GEN QUOTED_PP QUOTED_TG: "pp tg source".
llama_rates() {
  if [ -z "$llama_bench" ]; then
    echo "$5 $6 quoted"
    return
  fi
  "$llama_bench" -m "$1" -t "$2" -p "$3" -n "$4" -r 3 -o json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = next(r["avg_ts"] for r in rows if r["n_prompt"] > 0)
tg = next(r["avg_ts"] for r in rows if r["n_gen"] > 0)
print(pp, tg, "measured")'
}

echo "| model | threads | prefill pp128 tok/s | llama.cpp | ratio | decode tg32 tok/s | llama.cpp | ratio | decode % of roofline | peak RSS MiB (file) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row() {  # row NAME FILE THREADS PROMPT GEN QUOTED_PP QUOTED_TG (0 = no yardstick)
  local json llama
  json=$(bench "$2" "$3" -p "$4" -n "$5" -r 3 --bandwidth)
  llama=$(llama_rates "$2" "$3" "$4" "$5" "$6" "$7")
  python3 - "$json" "$llama" "$@" <<'PY'
import json, os, sys
d = json.loads(sys.argv[1])
llama_pp, llama_tg, source = sys.argv[2].split()
name, path, threads = sys.argv[3], sys.argv[4], sys.argv[5]
pp, tg = d["prefill_tok_s"], d["decode_tok_s"]
roof = next(r["roofline_pct"] for r in d["results"] if r["test"].startswith("tg"))
def cell(value, ref):
    ref = float(ref)
    if ref <= 0:
        return f"{value:,.1f} | — | —"
    mark = " (quoted)" if source == "quoted" else ""
    return f"{value:,.1f} | {ref:,.1f}{mark} | {value / ref:.2f}x"
mib = lambda b: b / 1048576
print(f"| {name} | {threads} | {cell(pp, llama_pp)} | {cell(tg, llama_tg)} "
      f"| {roof:.0f}% | {mib(d['peak_rss_bytes']):,.0f} ({mib(os.path.getsize(path)):,.0f}) |")
PY
}
row "TinyLlama-1.1B F16" "$models/tinyllama-f16.gguf" "$threads" 128 32 157 15.7
row "TinyLlama-1.1B Q8_0" "$models/tinyllama-q8_0.gguf" "$threads" 128 32 138 28.2
row "TinyLlama-1.1B Q4_0" "$models/tinyllama-q4_0.gguf" "$threads" 128 32 215 65.1
row "stories260K" "$src/examples/models/stories260K.gguf" 1 128 32 0 0

echo
echo "| long context (Q4_0, $threads threads) | decode tg128 tok/s at 128 in the cache | at 2,000 | ratio |"
echo "|---|---|---|---|"
json=$(bench "$models/tinyllama-q4_0.gguf" "$threads" -p 0 -n 128 -d 128,2000 -r 3)
python3 - "$json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
rate = {r["depth"]: r["tok_s"] for r in d["results"]}
print(f"| TinyLlama-1.1B Q4_0 | {rate[128]:.1f} | {rate[2000]:.1f} | {rate[2000] / rate[128]:.2f} |")
PY
