#!/usr/bin/env bash
# Prints hearth's prefill/decode speed beside the llama.cpp yardsticks (2-core AVX-512
# development machine) on the synthetic TinyLlama-1.1B shape and on stories260K.
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

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

printf '| model | threads | prefill pp128 tok/s (llama.cpp) | ratio | decode tg128 tok/s (llama.cpp) | ratio |\n'
printf '|---|---|---|---|---|---|\n'
row() {  # row NAME FILE THREADS PP_REF TG_REF PROMPT GEN
  local out pp tg
  out=$("$hearth" bench -m "$2" -t "$3" -p "$6" -n "$7" -r 3 --json 2>/dev/null)
  pp=$(echo "$out" | json_field prefill_tok_s)
  tg=$(echo "$out" | json_field decode_tok_s)
  python3 - "$1" "$3" "$pp" "$4" "$tg" "$5" <<'PY'
import sys
name, threads, pp, pp_ref, tg, tg_ref = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
pp_cells = f"{pp:.1f} ({pp_ref:g}) | {pp / pp_ref:.2f}x" if pp_ref else f"{pp:.1f} (—) | —"
print(f"| {name} | {threads} | {pp_cells} | {tg:.1f} ({tg_ref:g}) | {tg / tg_ref:.2f}x |")
PY
}
row "TinyLlama-1.1B F16" "$models/tinyllama-f16.gguf" "$threads" 96 10.0 128 128
row "TinyLlama-1.1B Q8_0" "$models/tinyllama-q8_0.gguf" "$threads" 89 16.1 128 128
row "TinyLlama-1.1B Q4_0" "$models/tinyllama-q4_0.gguf" "$threads" 106 24.8 128 128
# llama.cpp's stories260K yardstick is decode only (7,400 tok/s, 1 thread).
row "stories260K" "$src/examples/models/stories260K.gguf" 1 0 7400 128 256
