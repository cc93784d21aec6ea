#!/usr/bin/env bash
# `hearth cag` and `hearth run --set` as deployers use them: real processes on a real
# deployment folder, among them builders of one set running at once.
# usage: cag_cli_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

mkdir -p "$work/site/docs"
cd "$work/site"
printf 'Lily had a red ball. She played with it in the park every day.' >docs/a.md
# Long enough (about 2,600 tokens, fed one per pass) that the builders below overlap.
for i in $(seq 100); do printf 'Tom was her friend number %s. He had a big dog named Max. ' "$i"; done >docs/b.md
write_config() {  # write_config ON_STALE
  cat >deploy.toml <<TOML
[model]
path = "$src/examples/models/stories260K.gguf"
[runtime]
threads = 1
context_size = 4096
[sampling]
temperature = 0
[[plugins]]
name = "cag"
[plugins.options]
cache_dir = "cache"
on_stale = "$1"
query_tokens = 64
chunk_tokens = 1
[plugins.options.stories]
documents = ["docs"]
TOML
}
write_config rebuild

"$hearth" cag info --config deploy.toml >info.txt 2>&1
check "info before a build: documents, tokens, no cache yet" \
  grep -q "cache: absent" info.txt
check "info lists both documents (paths from the file's folder)" \
  test "$(grep -c "document: $work/site/docs/" info.txt)" = 2

# Builders of one set at once, three rounds, the last document changed before each: every
# one succeeds and the folder holds one manifest and one KV file, which the next start loads.
for round in 1 2 3; do
  printf ' Round %s.' "$round" >>docs/b.md
  for i in 1 2 3; do "$hearth" cag build --config deploy.toml >"build$i.txt" 2>&1 & done
  wait_failed=0
  for job in $(jobs -p); do wait "$job" || wait_failed=1; done
  check "round $round: three builders at once all succeed" test $wait_failed = 0
  check "round $round: one manifest and one KV file are left" \
    test "$(ls cache | tr '\n' ' ')" = "$(cd cache && ls stories.cag stories-*.kv | tr '\n' ' ')"
  check "round $round: exactly two files" test "$(ls cache | wc -l)" = 2
  "$hearth" cag build --config deploy.toml >again.txt 2>&1
  check "round $round: the next build loads it" grep -q "loaded from its cache file" again.txt
done
"$hearth" cag info --config deploy.toml >info.txt 2>&1
check "info after the builds: valid" grep -q "cache: valid" info.txt

"$hearth" cag ask --config deploy.toml -p "What did Lily have?" -n 12 --json >ask.json 2>ask.err
check "ask --json prints text, tokens, ttft_s, total_s and prefilled_tokens" \
  grep -Eq '^\{"set": "stories", "text": ".+", "tokens": \[[0-9, ]+\], "ttft_s": [0-9.]+, "total_s": [0-9.]+, "prefilled_tokens": [0-9]+' ask.json
"$hearth" cag ask --config deploy.toml -p "What did Lily have?" -n 12 >ask.txt 2>/dev/null
"$hearth" run --config deploy.toml --set stories -p "What did Lily have?" -n 12 >run.txt 2>/dev/null
check "ask and run --set give the same answer" cmp ask.txt run.txt
# The JSON text, unescaped (this answer has no other escapes than \n and \"), is the answer.
text=$(sed -E 's/^\{"set": "stories", "text": "(.*)", "tokens".*/\1/; s/\\"/"/g' ask.json)
printf '%b' "$text" >ask_text.txt
check "the JSON text is the answer" cmp ask_text.txt ask.txt

# Changed documents with on_stale = "refuse": refused, naming the file and the reason.
printf ' Max liked to run.' >>docs/b.md
write_config refuse
"$hearth" cag build --config deploy.toml >refused.txt 2>&1
check "a stale cache is refused" test $? -ne 0
check "naming the cache file and the document" \
  grep -q "cache/stories.cag.*b.md' changed.*refuse" refused.txt
write_config rebuild
"$hearth" cag build --config deploy.toml >rebuilt.txt 2>&1
read -r total prefilled < <(sed -En 's/^stories: ([0-9]+) tokens, ([0-9]+) prefilled.*/\1 \2/p' rebuilt.txt)
check "rebuild recomputes only the changed end" test "${prefilled:-0}" -gt 0 -a "${prefilled:-0}" -lt $((total / 4))

# A damaged KV file is detected and rebuilt, with a warning naming it.
kv=$(ls cache/stories-*.kv)
printf 'garbage' | dd of="$kv" bs=1 seek=200 conv=notrunc 2>/dev/null
"$hearth" cag build --config deploy.toml >damaged.txt 2>&1
check "a damaged KV file is rebuilt" test $? -eq 0
check "with a warning naming the cache file" grep -q "stories.cag.*not used.*KV file" damaged.txt

# Usage errors.
"$hearth" cag ask --config deploy.toml --set nope -p x >err.txt 2>&1
check "an unknown set is an error listing the configured ones" \
  grep -q "no knowledge set named 'nope'.*configured: stories" err.txt
printf '[model]\npath = "%s"\n' "$src/examples/models/stories260K.gguf" >plain.toml
"$hearth" cag info --config plain.toml >err.txt 2>&1
check "a file without a knowledge plugin says so" grep -q "no knowledge plugin" err.txt
"$hearth" cag frob >/dev/null 2>&1
check "an unknown action is a usage error" test $? -eq 2

echo "$failures failure(s)"
test $failures -eq 0
