#!/usr/bin/env bash
# The GQA retrofit (the gqa_retrofit plugin) by method and merge factor: perplexity on
# stories260K's MHA twin (tests/data/text/tinystories-sample.txt, -c 128, llama-perplexity's
# method), and on an MHA model file (the synthetic mha-1b shape: 32 heads, 32 KV heads) the KV
# bytes per position, decode tok/s at 2,000 positions (`hearth bench -p 0 -n 64 -d 2000 -r 3`)
# and the conversion's time. usage: tests/bench/gqa_retrofit.sh MHA_MODEL [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:?usage: gqa_retrofit.sh MHA_MODEL [BUILD_DIR]}
hearth=${2:-$src/build/release}/bin/hearth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
twin=$src/examples/models/stories260K-mha.gguf
text=$src/tests/data/text/tinystories-sample.txt
heads=$("$hearth" info "$model" | sed -n 's/.* \([0-9]*\) kv heads.*/\1/p')
twin_heads=8

echo "| method | merge | perplexity (stories260K MHA twin) | KV bytes per position | decode tok/s at 2,000 | conversion s |"
echo "|---|---|---|---|---|---|"
for factor in 1 2 4; do
  ppl_args=() bench_args=()
  if [ "$factor" -gt 1 ]; then
    ppl_args=(--kv-heads $((twin_heads / factor)))
    bench_args=(--kv-heads $((heads / factor)))
  fi
  ppl=$("$hearth" perplexity -m "$twin" -f "$text" -c 128 --json "${ppl_args[@]}" 2>/dev/null)
  "$hearth" bench -m "$model" -p 0 -n 64 -d 2000 -r 3 --json "${bench_args[@]}" \
    > "$work/bench.json" 2> "$work/bench.err"
  python3 - "$factor" "$ppl" "$work/bench.json" "$work/bench.err" <<'PY'
import json, re, sys
factor, ppl, bench, err = sys.argv[1], json.loads(sys.argv[2]), json.load(open(sys.argv[3])), open(sys.argv[4]).read()
merged = re.search(r"merged the KV heads of .* in ([0-9.]+) s", err)
method = "mean" if factor != "1" else "(none: MHA)"
print(f"| {method} | {factor}x | {ppl['perplexity']:.4f} | {bench['kv_bytes_per_token']:.0f} | "
      f"{bench['decode_tok_s']:.1f} | {float(merged.group(1)):.2f} |" if merged else
      f"| {method} | {factor}x | {ppl['perplexity']:.4f} | {bench['kv_bytes_per_token']:.0f} | "
      f"{bench['decode_tok_s']:.1f} | - |")
PY
done
