#!/usr/bin/env bash
# Prints hearth's speed beside the llama.cpp yardsticks and the performance targets, on the
# synthetic TinyLlama-1.1B shape (F16, Q8_0, Q4_0) and on stories260K, plus long-context
# decode, peak memory and decode as a share of the memory roofline.
# usage: tests/bench/yardstick_table.sh [BUILD_DIR] [SYNTH_TOOL]
# The synthetic GGUF files (random weights, 0.6-2.2 GB) are generated once into
# BUILD_DIR/models and never committed.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build/release}
synth=${2:-$src/../shared/tools/synth_gguf.py}
hearth=$build/bin/hearth
models=$build/models
vocab=$src/tests/data/tokenizer/ggml-vocab-llama-spm.gguf
threads=${HEARTH_BENCH_THREADS:-2}
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

echo "| model | threads | prefill pp128 tok/s | target | llama.cpp | ratio | decode tg128 tok/s | target | llama.cpp | ratio | decode % of roofline | peak RSS MiB (file) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
row() {  # row NAME FILE THREADS PP_TARGET PP_REF TG_TARGET TG_REF PROMPT GEN
  local json
  json=$(bench "$2" "$3" -p "$8" -n "$9" -r 3 --bandwidth)
  python3 - "$json" "$@" <<'PY'
import json, os, sys
d = json.loads(sys.argv[1])
name, path, threads = sys.argv[2], sys.argv[3], sys.argv[4]
pp_target, pp_ref, tg_target, tg_ref = map(float, sys.argv[5:9])
pp, tg = d["prefill_tok_s"], d["decode_tok_s"]
roof = next(r["roofline_pct"] for r in d["results"] if r["test"].startswith("tg"))
cell = lambda v, t, ref: (f"{v:,.1f} | ≥ {t:,.0f} | {ref:,.1f} | {v / ref:.2f}x" if ref
                          else f"{v:,.1f} | — | — | —")
mib = lambda b: b / 1048576
print(f"| {name} | {threads} | {cell(pp, pp_target, pp_ref)} | {cell(tg, tg_target, tg_ref)} "
      f"| {roof:.0f}% | {mib(d['peak_rss_bytes']):,.0f} ({mib(os.path.getsize(path)):,.0f}) |")
PY
}
row "TinyLlama-1.1B F16" "$models/tinyllama-f16.gguf" "$threads" 145 96 13.5 10.0 128 128
row "TinyLlama-1.1B Q8_0" "$models/tinyllama-q8_0.gguf" "$threads" 135 89 25 16.1 128 128
row "TinyLlama-1.1B Q4_0" "$models/tinyllama-q4_0.gguf" "$threads" 160 106 45 24.8 128 128
# llama.cpp's stories260K yardstick is decode only (7,400 tok/s, 1 thread).
row "stories260K" "$src/examples/models/stories260K.gguf" 1 0 0 15000 7400 128 256

echo
echo "| long context (Q4_0, $threads threads) | decode tg128 tok/s at 128 in the cache | at 2,000 | ratio (target ≥ 0.8) |"
echo "|---|---|---|---|"
json=$(bench "$models/tinyllama-q4_0.gguf" "$threads" -p 0 -n 128 -d 128,2000 -r 3)
python3 - "$json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
rate = {r["depth"]: r["tok_s"] for r in d["results"]}
print(f"| TinyLlama-1.1B Q4_0 | {rate[128]:.1f} | {rate[2000]:.1f} | {rate[2000] / rate[128]:.2f} |")
PY
