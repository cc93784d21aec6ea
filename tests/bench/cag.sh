#!/usr/bin/env bash
# Cache-augmented generation (the cag plugin) against putting the documents in the prompt, for
# knowledge sets of about 512, 2,048 and 8,192 tokens (four documents each), 32-token questions
# and 32-token answers. Per set: the preload (prefill of the set, cache file written), the
# cache file's size and write time, loading it in a new process, and per query the time to
# first token and the whole query for CAG (`hearth cag ask`) and for the full prompt
# (`hearth generate` on documents + question in the same template); then the number of queries
# after which the preload has paid for itself. "load" is the whole start from the cache file
# (documents read and hashed, tokenized, KV read), right after the build with the file in the
# page cache, and "cold load" the same after the page cache was dropped (as root; else "nan");
# every run uses the same model, context and threads. usage: tests/bench/cag.sh MODEL [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=$(realpath "${1:?usage: cag.sh MODEL [BUILD_DIR]}")
hearth=${2:-$src/build/release}/bin/hearth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
context=9216

# About `n` tokens of text: common words in a fixed pseudo-random order, from seed `seed`.
words() {
  awk -v n="$1" -v s="$2" 'BEGIN { split("the a little girl boy dog cat went to park and saw big red ball tree house happy sad ran jumped played with friend mom dad sun sky", w, " "); for (i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%s ", w[1 + s % 27] } }'
}

question="$(words 30 99)what did the little girl see?"
printf '%s' "$question" > "$work/question.txt"

echo "| knowledge tokens | preload s | cache file MiB | write s | load s | of it KV read s | cold load s | preload ÷ load | preload ÷ cold load | CAG TTFT s | full-prompt TTFT s | full ÷ CAG TTFT | CAG query s | full-prompt query s | break-even queries |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for target in 512 2048 8192; do
  site="$work/site-$target"
  mkdir -p "$site/docs"
  # Four documents; about 0.92 words per token for this vocabulary and word list.
  for d in 1 2 3 4; do words $((target * 92 / 400)) "$d$target" > "$site/docs/doc$d.md"; done
  cat > "$site/deploy.toml" <<TOML
[model]
path = "$model"
[runtime]
context_size = $context
[sampling]
temperature = 0
ignore_eos = true
[[plugins]]
name = "cag"
[plugins.options]
cache_dir = "cache"
[plugins.options.kb]
documents = ["docs"]
TOML
  "$hearth" cag build --config "$site/deploy.toml" > "$work/build.txt" 2> "$work/build.err"
  "$hearth" cag build --config "$site/deploy.toml" > "$work/load.txt" 2> "$work/load.err"
  # Once more from a cold page cache, where the system lets us drop it (root).
  cold=""
  if sync 2>/dev/null && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
    "$hearth" cag build --config "$site/deploy.toml" > "$work/cold.txt" 2> "$work/cold.err"
    cold="$work/cold.txt"
  fi
  "$hearth" cag ask --config "$site/deploy.toml" -f "$work/question.txt" -n 32 --json \
    > "$work/ask.json" 2>/dev/null
  # The same text the prefix and the question make, as one prompt.
  python3 - "$site/docs" "$work/question.txt" > "$work/full.txt" <<'PY'
import pathlib, sys
docs = [p.read_text() for p in sorted(pathlib.Path(sys.argv[1]).glob("*.md"))]
sys.stdout.write("\n\n".join(docs) + "\n\nQuestion: " + open(sys.argv[2]).read() + "\nAnswer:")
PY
  "$hearth" generate -m "$model" -c "$context" -f "$work/full.txt" -n 32 --temp 0 --ignore-eos \
    > /dev/null 2> "$work/full.err"
  kv=$(ls "$site"/cache/kb-*.kv)
  python3 - "$work" "$kv" "$cold" <<'PY'
import json, math, os, re, sys
work, kv, cold = sys.argv[1], sys.argv[2], sys.argv[3]
read = lambda name: open(os.path.join(work, name)).read()
built = re.search(r"kb: (\d+) tokens, \d+ prefilled in ([0-9.]+) s", read("build.txt"))
tokens, preload = int(built.group(1)), float(built.group(2))
write = float(re.search(r"wrote '.*' \(\d+ bytes\) in ([0-9.]+) s", read("build.err")).group(1))
kv_read = float(re.search(r"loaded from '.*' in ([0-9.]+) s", read("load.err")).group(1))
load = float(re.search(r"loaded from its cache file in ([0-9.]+) s", read("load.txt")).group(1))
cold_load = (float(re.search(r"loaded from its cache file in ([0-9.]+) s", open(cold).read()).group(1))
             if cold else float("nan"))
ask = json.loads(read("ask.json"))
full = re.search(r"prompt (\d+) tokens in ([0-9.]+) s .* generated (\d+) tokens in ([0-9.]+) s",
                 read("full.err"))
full_ttft, full_query = float(full.group(2)), float(full.group(2)) + float(full.group(4))
saving = full_query - ask["total_s"]
breakeven = math.ceil(preload / saving) if saving > 0 else float("inf")
print(f"| {tokens} | {preload:.2f} | {os.path.getsize(kv) / 2**20:.1f} | {write:.3f} | {load:.3f} | "
      f"{kv_read:.3f} | {cold_load:.3f} | {preload / load:.0f}x | {preload / cold_load:.0f}x | {ask['ttft_s']:.3f} | {full_ttft:.2f} | {full_ttft / ask['ttft_s']:.0f}x | "
      f"{ask['total_s']:.2f} | {full_query:.2f} | {breakeven} |")
PY
done
