#!/usr/bin/env bash
# The GQA retrofit (the gqa_retrofit plugin) by method and merge factor:
#   - perplexity on stories260K's MHA twin, on tests/data/text/tinystories-evaluation.txt (-c 128,
#     llama-perplexity's method); the aligned method calibrates on tinystories-calibration.txt,
#     which the evaluation text does not contain;
#   - on an MHA model file (the synthetic mha-1b shape: 32 heads, 32 KV heads): the KV bytes per
#     position and decode tok/s at 2,000 positions (`hearth bench -p 0 -n 64 -d 2000 -r 3`; both
#     methods give the same shapes and types, so one run per factor), and the conversion's time
#     (`hearth retrofit`, the aligned methods on 64 calibration tokens).
# usage: tests/bench/gqa_retrofit.sh MHA_MODEL [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:?usage: gqa_retrofit.sh MHA_MODEL [BUILD_DIR]}
hearth=${2:-$src/build/release}/bin/hearth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
twin=$src/examples/models/stories260K-mha.gguf
text=$src/tests/data/text/tinystories-evaluation.txt
calibration=$src/tests/data/text/tinystories-calibration.txt
heads=$("$hearth" info "$model" | sed -n 's/.* \([0-9]*\) kv heads.*/\1/p')
twin_heads=8

ppl() {  # ppl ARGS...: perplexity of the twin converted by `hearth retrofit ARGS` (none: as is)
  local file=$twin
  if [ $# -gt 0 ]; then
    "$hearth" retrofit -m "$twin" --out "$work/twin.gguf" "$@" >/dev/null 2>&1
    file=$work/twin.gguf
  fi
  "$hearth" perplexity -m "$file" -f "$text" -c 128 --json 2>/dev/null |
    sed -n 's/.*"perplexity": \([0-9.]*\).*/\1/p'
}

convert_seconds() {  # convert_seconds ARGS...: the conversion of the MHA model, as it reports it
  "$hearth" retrofit -m "$model" --out "$work/model.gguf" "$@" 2>&1 |
    sed -n 's/.*merged the KV heads of .* in \([0-9.]*\) s/\1/p'
}

echo "| method | merge | perplexity (stories260K MHA twin, unseen text) | KV bytes per position | decode tok/s at 2,000 | conversion s |"
echo "|---|---|---|---|---|---|"
"$hearth" bench -m "$model" -p 0 -n 64 -d 2000 -r 3 --json > "$work/bench.json" 2>/dev/null
read -r bytes rate < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["kv_bytes_per_token"]), round(d["decode_tok_s"], 1))' "$work/bench.json")
echo "| (none: MHA) | 1x | $(ppl) | $bytes | $rate | - |"
for factor in 2 4; do
  "$hearth" bench -m "$model" -p 0 -n 64 -d 2000 -r 3 --json --kv-heads $((heads / factor)) \
    > "$work/bench.json" 2>/dev/null
  read -r bytes rate < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["kv_bytes_per_token"]), round(d["decode_tok_s"], 1))' "$work/bench.json")
  mean_s=$(convert_seconds --kv-heads $((heads / factor)))
  aligned_s=$(convert_seconds --kv-heads $((heads / factor)) --method aligned \
    --calibration "$calibration" --calibration-tokens 64)
  echo "| mean | ${factor}x | $(ppl --kv-heads $((twin_heads / factor))) | $bytes | $rate | $mean_s |"
  grouped_s=$(convert_seconds --kv-heads $((heads / factor)) --method aligned_grouped \
    --calibration "$calibration" --calibration-tokens 64)
  echo "| aligned | ${factor}x | $(ppl --kv-heads $((twin_heads / factor)) --method aligned --calibration "$calibration") | $bytes | $rate | $aligned_s |"
  echo "| aligned_grouped | ${factor}x | $(ppl --kv-heads $((twin_heads / factor)) --method aligned_grouped --calibration "$calibration") | $bytes | $rate | $grouped_s |"
done
