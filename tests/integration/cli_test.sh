#!/usr/bin/env bash
# End-to-end checks of the hearth command line. usage: cli_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
fixtures=$3
model=$src/examples/models/stories260K.gguf
expected=$src/examples/models/expected-greedy-from-bos.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# Greedy generation from BOS reproduces the reference text byte for byte on stdout.
"$hearth" generate -m "$model" -p "" -n 200 --temp 0 >"$work/out.txt" 2>"$work/err.txt"
check "generate matches the reference" cmp "$work/out.txt" "$expected"
check "statistics go to stderr" grep -q "tok/s" "$work/err.txt"
"$hearth" generate -m "$src/examples/models/stories260K-mha.gguf" -p "" -n 200 --temp 0 \
  >"$work/mha.txt" 2>/dev/null
check "the MHA twin matches too" cmp "$work/mha.txt" "$expected"

# The deployment file drives the same generation.
"$hearth" run --config "$src/examples/deploy/stories.toml" >"$work/run.txt" 2>/dev/null
check "run --config matches the reference" cmp "$work/run.txt" "$expected"
printf '[model]\npath = "m.gguf"\n[runtime]\nthreads = "many"\n' >"$work/bad.toml"
"$hearth" run --config "$work/bad.toml" >/dev/null 2>"$work/bad.txt"
check "a bad config fails" test $? -ne 0
check "and names line and column" grep -q "bad.toml:4:" "$work/bad.txt"

# Tokenize prints ids on one line.
ids=$("$hearth" tokenize -m "$model" -p "Once upon a time")
check "tokenize starts with BOS" test "${ids%% *}" = "1"
ids_no_bos=$("$hearth" tokenize -m "$model" -p "Once upon a time" --no-bos)
check "tokenize --no-bos drops it" test "1 $ids_no_bos" = "$ids"
special=$("$hearth" tokenize -m "$model" -p "<s>" --no-bos --parse-special)
check "tokenize --parse-special reads <s> as BOS" test "$special" = "1"

# info on a good and a bad file.
check "info describes the model" bash -c "'$hearth' info '$model' | grep -q 'blk.4.ffn_up.weight'"
head -c 5000 "$model" >"$work/truncated.gguf"
"$hearth" info "$work/truncated.gguf" >/dev/null 2>"$work/info_err.txt"
check "info on a truncated file fails" test $? -ne 0
check "and names the file" grep -q "truncated.gguf" "$work/info_err.txt"
echo "not a model" >"$work/junk.gguf"
"$hearth" generate -m "$work/junk.gguf" -p hi >/dev/null 2>"$work/junk_err.txt"
check "generate on junk fails clearly" grep -q "not a GGUF file" "$work/junk_err.txt"

# bench --json prints one object with both rates.
"$hearth" bench -m "$model" -p 32 -n 16 -r 2 --json >"$work/bench.json" 2>/dev/null
check "bench --json is valid JSON with both rates" python3 -c "
import json,sys
d = json.load(open('$work/bench.json'))
sys.exit(0 if d['prefill_tok_s'] > 0 and d['decode_tok_s'] > 0 else 1)"

# Every command answers --help, unknown options are refused.
for c in generate tokenize info bench run; do
  check "$c --help" bash -c "'$hearth' $c --help | grep -q usage"
done
"$hearth" generate --bogus >/dev/null 2>&1
check "unknown option fails" test $? -ne 0

# Plugins: listing with refusals, and the contract checks a plugin author runs.
HEARTH_PLUGIN_PATH=$fixtures "$hearth" plugins >"$work/plugins.txt"
check "plugins lists a fixture" grep -q "test_greedy .*decoding" "$work/plugins.txt"
check "plugins says why one was refused" grep -q "refused: .*test_wrong_major.so: ABI major 2 != 1" "$work/plugins.txt"
check "plugin-check passes a good plugin" "$hearth" plugin-check "$fixtures/hearth-test_greedy.so" -m "$model"
"$hearth" plugin-check "$fixtures/hearth-test_faulty.so" -m "$model" >"$work/faulty.txt" 2>&1
check "plugin-check fails a faulty plugin" test $? -ne 0
check "and says which check failed" grep -q "FAIL  metrics" "$work/faulty.txt"
"$hearth" plugin-check "$fixtures/hearth-test_no_entry.so" -m "$model" >"$work/noentry.txt" 2>&1
check "plugin-check refuses a library without entry point" grep -q "no hearth_plugin_entry" "$work/noentry.txt"

# Perplexity by llama-perplexity's method (6.6855 there on this model, text and -c 128).
"$hearth" perplexity -m "$model" -f "$src/tests/data/text/tinystories-sample.txt" -c 128 \
  >"$work/ppl.txt" 2>"$work/ppl.err"
check "perplexity prints the final estimate" grep -q "^Final estimate: PPL = 6.68[0-9]* +/- 0.71" "$work/ppl.txt"
check "and the running value after each chunk" grep -q "^\[1\][0-9.]*,\[2\]" "$work/ppl.txt"
check "and its settings on stderr" grep -q "chunks of 128 tokens (the last 63 of each scored)" "$work/ppl.err"
"$hearth" perplexity -m "$model" -f "$src/tests/data/text/tinystories-sample.txt" -c 128 --json \
  >"$work/ppl.json" 2>/dev/null
check "perplexity --json" grep -Eq '^\{"perplexity": 6\.68[0-9]+, "error": [0-9.]+, .*"chunks": 14, "context": 128' "$work/ppl.json"
printf 'Once upon a time.' >"$work/short.txt"
"$hearth" perplexity -m "$model" -f "$work/short.txt" -c 128 >/dev/null 2>"$work/short.err"
check "a text too short is refused" grep -q "needs at least 256" "$work/short.err"

# The GQA retrofit written to a file: the MHA twin to 4 KV heads is lossless, and the file
# loads without the plugin.
"$hearth" retrofit -m "$src/examples/models/stories260K-mha.gguf" --out "$work/gqa4.gguf" \
  --kv-heads 4 >"$work/retrofit.txt" 2>&1
check "retrofit writes the converted model" grep -q "4 KV heads per layer (mean)" "$work/retrofit.txt"
check "info shows its KV heads" grep -q ", 4 kv heads," <("$hearth" info "$work/gqa4.gguf")
"$hearth" generate -m "$work/gqa4.gguf" -p "" -n 200 --temp 0 >"$work/gqa4.txt" 2>/dev/null
check "the converted file matches the reference text" cmp "$work/gqa4.txt" "$expected"
"$hearth" retrofit -m "$src/examples/models/stories260K-mha.gguf" --out "$work/bad.gguf" \
  --kv-heads 3 >/dev/null 2>"$work/retrofit.err"
check "a count that does not divide is refused" grep -q "from 8 to 3" "$work/retrofit.err"
check "and nothing is written" test ! -e "$work/bad.gguf"

exit $((failures > 0))
