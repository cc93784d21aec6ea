#!/usr/bin/env bash
# Beam search with one prefix tree of KV cache (trie_beam) against two batch beam searches in
# which every beam holds its own copy of the cache: --reorder-kv (every beam copies its
# parent's cache at every step, as Hugging Face's reorder_cache does: the reference) and
# --unshared-kv (a child copies its parent only where the trie would fork it), and against
# greedy decoding, for k = 4 and 8, prompts of about 256 and 1,024 tokens and 128 and 512 new
# tokens. Per run: steps (or tokens) per second, wall time of prefill + decode, and the KV
# cache's peak. Every run of one row uses the same prompt, file and cache size. ROUNDS=N
# sets the number of rounds (3).
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


# The machine's speed wanders from run to run, so each row is `rounds` rounds in which greedy
# decoding and the three searches run one after another; the table shows medians.
rounds=${ROUNDS:-3}
for prompt_words in 236 950; do
  make_prompt "$prompt_words" > "$work/prompt.txt"
  for new in 128 512; do
    for round in $(seq "$rounds"); do
      "$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" -n "$new" --temp 0 \
        --ignore-eos 2>&1 >/dev/null |
        sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p' \
          >> "$work/greedy-$prompt_words-$new"
      for k in 4 8; do
        for search in trie unshared reorder; do
          flag=()
          [ "$search" = trie ] || flag=("--$search-kv")
          "$hearth" generate -m "$model" -c 32768 -f "$work/prompt.txt" --beams "$k" \
            --max-new "$new" -n "$new" --json "${flag[@]}" 2>/dev/null \
            >> "$work/$search-$prompt_words-$new-$k"
        done
      done
    done
  done
done

python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
median = statistics.median
print("| k | prompt | new | greedy tok/s | trie steps/s | reorder steps/s | unshared steps/s "
      "| trie ÷ reorder | trie ÷ unshared | trie ÷ greedy | trie wall s | reorder wall s "
      "| unshared wall s | trie KV peak MiB | reorder KV peak MiB | unshared KV peak MiB "
      "| KV trie ÷ reorder |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
rate = lambda d: d["steps"] / d["generate_seconds"]
wall = lambda d: d["prompt_seconds"] + d["generate_seconds"]
for words in (236, 950):
    for new in (128, 512):
        greedy = median(float(x) for x in open(f"{work}/greedy-{words}-{new}"))
        for k in (4, 8):
            runs = {s: [json.loads(line) for line in open(f"{work}/{s}-{words}-{new}-{k}")]
                    for s in ("trie", "reorder", "unshared")}
            tokens = {json.dumps([h["tokens"] for h in d["hypotheses"]])
                      for rs in runs.values() for d in rs}
            note = "" if len(tokens) == 1 else " hypotheses differ |"
            r = {s: median(rate(d) for d in rs) for s, rs in runs.items()}
            w = {s: median(wall(d) for d in rs) for s, rs in runs.items()}
            m = {s: max(d["kv_peak_bytes"] for d in rs) / 2**20 for s, rs in runs.items()}
            print(f"| {k} | {runs['trie'][0]['prompt_tokens']} | {new} | {greedy:.1f} "
                  f"| {r['trie']:.1f} | {r['reorder']:.1f} | {r['unshared']:.1f} "
                  f"| {r['trie'] / r['reorder']:.2f}x | {r['trie'] / r['unshared']:.2f}x "
                  f"| {r['trie'] / greedy:.2f}x | {w['trie']:.2f} | {w['reorder']:.2f} "
                  f"| {w['unshared']:.2f} | {m['trie']:.1f} | {m['reorder']:.1f} "
                  f"| {m['unshared']:.1f} | {m['trie'] / m['reorder']:.2f} |{note}")
PY
