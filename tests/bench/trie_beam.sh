#!/usr/bin/env bash
# Beam search with one prefix tree of KV cache (trie_beam) against two batch beam searches in
# which every beam holds its own copy of the cache: --reorder-kv (every beam copies its
# parent's cache at every step, as Hugging Face's reorder_cache does: the reference) and
# --unshared-kv (a child copies its parent only where the trie would fork it), and against
# greedy decoding, for k = 4 and 8, prompts of about 256 and 1,024 tokens and 128 and 512 new
# tokens. Per run: steps (or tokens) per second, wall time of prefill + decode, and the KV
# cache's peak. Every run of one row uses the same prompt, file and cache size.
# usage: tests/bench/trie_beam.sh MODEL [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:?usage: trie_beam.sh MODEL [BUILD_DIR]}
hearth=${2:-$src/build/release}/bin/hearth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A prompt of about `words` tokens: common words in a fixed pseudo-random order.
make_prompt() {
  awk -v n="$1" 'BEGIN { split("the a little girl boy dog cat went to park and saw big red ball tree house happy sad ran jumped played with friend mom dad sun sky", w, " "); s = 7; for (i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%s ", w[1 + s % 27] } }'
}

field() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

echo "| k | prompt | new | greedy tok/s | trie steps/s | reorder steps/s | unshared steps/s | trie ÷ reorder | trie ÷ unshared | trie ÷ greedy | trie wall s | reorder wall s | unshared wall s | trie KV peak MiB | reorder KV peak MiB | unshared KV peak MiB | KV trie ÷ reorder |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for prompt_words in 236 950; do
  make_prompt "$prompt_words" > "$work/prompt.txt"
  for new in 128 512; do
    greedy=$("$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" -n "$new" --temp 0 \
      --ignore-eos 2>&1 >/dev/null | sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p')
    for k in 4 8; do
      trie=$("$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" --beams "$k" \
        --max-new "$new" -n "$new" --json 2>/dev/null)
      flat=$("$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" --beams "$k" \
        --max-new "$new" -n "$new" --json --unshared-kv 2>/dev/null)
      reorder=$("$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" --beams "$k" \
        --max-new "$new" -n "$new" --json --reorder-kv 2>/dev/null)
      printf '%s\n%s\n%s\n' "$trie" "$reorder" "$flat" > "$work/runs.json"
      python3 - "$k" "$new" "$greedy" "$work/runs.json" <<'PY'
import json, sys
k, new, greedy, path = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
trie, reorder, flat = [json.loads(line) for line in open(path)]
rate = lambda d: d["steps"] / d["generate_seconds"]
wall = lambda d: d["prompt_seconds"] + d["generate_seconds"]
mib = lambda d: d["kv_peak_bytes"] / 2**20
print(f"| {k} | {trie['prompt_tokens']} | {new} | {greedy:.1f} | {rate(trie):.1f} | {rate(reorder):.1f} | "
      f"{rate(flat):.1f} | {rate(trie) / rate(reorder):.2f}x | {rate(trie) / rate(flat):.2f}x | "
      f"{rate(trie) / greedy:.2f}x | {wall(trie):.2f} | {wall(reorder):.2f} | {wall(flat):.2f} | "
      f"{mib(trie):.1f} | {mib(reorder):.1f} | {mib(flat):.1f} | {mib(trie) / mib(reorder):.2f} |")
PY
    done
  done
done
