#!/usr/bin/env bash
# The hearth program against hostile input, as a process: truncated and foreign plugin files,
# FIFOs, devices, directories, deep TOML, absurd counts, memory limits, hostile metadata.
# Each case must end with a clear error naming what and where, a non-zero exit, and no crash
# (exit status >= 128) or hang (a time limit turns a hang into a failure).
# usage: hostile_input_test.sh HEARTH SOURCE_DIR FIXTURE_PLUGIN_DIR [sanitized]
set -u
hearth=$1
src=$2
fixtures=$3
sanitized=${4:-}
model=$src/examples/models/stories260K.gguf
edit="python3 $src/tests/integration/gguf_edit.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
limit=${HEARTH_TEST_TIMEOUT:-60}  # seconds before a case counts as hung

ok() { echo "ok   $1"; }
quiet_stdout=no  # when yes, a refusal must leave stdout empty (plugin-check's refusals)
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# refused NAME PATTERN COMMAND...: the command exits 1..127 within the time limit and its stderr
# matches PATTERN (an extended regular expression).
refused() {
  local name=$1 pattern=$2
  shift 2
  timeout "$limit" "$@" >"$work/out" 2>"$work/err" </dev/null
  local rc=$?
  if [ $rc -eq 124 ]; then
    fail "$name: hung (killed after $limit s)"
  elif [ $rc -eq 0 ]; then
    fail "$name: exit status 0"
  elif [ $rc -ge 128 ]; then
    fail "$name: crashed (exit status $rc)"; head -c 2000 "$work/err"
  elif ! grep -Eq -- "$pattern" "$work/err"; then
    fail "$name: stderr does not match '$pattern'"; head -c 2000 "$work/err"
  elif [ "$quiet_stdout" = yes ] && [ -s "$work/out" ]; then
    fail "$name: the refusal was printed on stdout"
  else
    ok "$name"
  fi
}

config() {  # config FILE LINES...: a deployment file for the bundled model plus LINES
  local file=$1
  shift
  printf '[model]\npath = "%s"\n' "$model" >"$file"
  printf '%s\n' "$@" >>"$file"
}

# --- Plugin files that dlopen must never see --------------------------------------------
# A real library cut short, as a half-finished copy leaves it (its loadable segments reach
# far past 5000 bytes).
mkdir "$work/plugins"
head -c 5000 "$fixtures/hearth-test_counter.so" >"$work/plugins/hearth-trunc.so"
quiet_stdout=yes
refused "plugin-check: truncated library" "hearth-trunc.so: truncated ELF" \
  "$hearth" plugin-check "$work/plugins/hearth-trunc.so" -m "$model"
timeout "$limit" "$hearth" plugins --plugin-dir "$work/plugins" >"$work/list" 2>&1
rc=$?
if [ $rc -lt 128 ] && grep -q "refused: .*hearth-trunc.so: truncated ELF" "$work/list"; then
  ok "plugins: lists the truncated library as refused"
else
  fail "plugins: truncated library (exit $rc)"; cat "$work/list"
fi
config "$work/skip.toml" '[prompt]' 'text = "Once"' '[sampling]' 'max_tokens = 4' \
  '[[plugins]]' "path = \"$work/plugins/hearth-trunc.so\"" 'on_error = "skip"'
timeout "$limit" "$hearth" run --config "$work/skip.toml" >"$work/out" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "truncated ELF" "$work/err" && [ -s "$work/out" ]; then
  ok "run: a truncated plugin with on_error = skip is skipped with a warning"
else
  fail "run: on_error = skip with a truncated plugin (exit $rc)"; cat "$work/err"
fi
config "$work/stop.toml" '[[plugins]]' "path = \"$work/plugins/hearth-trunc.so\""
refused "run: a truncated required plugin stops start-up" "truncated ELF" \
  "$hearth" run --config "$work/stop.toml"
printf '\177ELF' >"$work/four.so"
refused "plugin-check: a 4-byte ELF" "four.so: truncated ELF: 4 bytes" \
  "$hearth" plugin-check "$work/four.so" -m "$model"
refused "plugin-check: an executable" "an executable program" \
  "$hearth" plugin-check "$(command -v ls)" -m "$model"
refused "plugin-check: a missing file" "missing.so': No such file" \
  "$hearth" plugin-check "$work/missing.so" -m "$model"
refused "plugin-check: a directory" "is a directory" "$hearth" plugin-check "$work" -m "$model"
ln -s "$work/nowhere.so" "$work/dangling.so"
refused "plugin-check: a dangling symlink" "dangling symbolic link" \
  "$hearth" plugin-check "$work/dangling.so" -m "$model"
quiet_stdout=no

# --- Files that are not regular files ----------------------------------------------------
mkfifo "$work/fifo"
refused "info on a FIFO" "fifo': is a FIFO" "$hearth" info "$work/fifo"
refused "generate -m FIFO" "fifo': is a FIFO" "$hearth" generate -m "$work/fifo" -p hi
refused "generate -f FIFO" "fifo': is a FIFO" "$hearth" generate -m "$model" -f "$work/fifo"
refused "plugin-check on a FIFO" "fifo': is a FIFO" "$hearth" plugin-check "$work/fifo" -m "$model"
refused "run --config FIFO" "fifo': is a FIFO" "$hearth" run --config "$work/fifo"
printf '[model]\npath = "%s"\n' "$work/fifo" >"$work/fifo-model.toml"
refused "[model] path = FIFO" "fifo': is a FIFO" "$hearth" run --config "$work/fifo-model.toml"
refused "generate -f /dev/zero" "'/dev/zero': is a character device" \
  "$hearth" generate -m "$model" -f /dev/zero
refused "run --config /dev/zero" "'/dev/zero': is a character device" \
  "$hearth" run --config /dev/zero
config "$work/zero.toml" '[prompt]' 'file = "/dev/zero"'
refused "[prompt] file = /dev/zero" "zero.toml:4:8: \[prompt\] prompt file '/dev/zero'" \
  "$hearth" run --config "$work/zero.toml"
refused "generate -f DIRECTORY" "'$work': is a directory" "$hearth" generate -m "$model" -f "$work"
head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$work/big.txt"
refused "generate -f with a prompt file above the limit" "big.txt': 65 MiB is above the limit" \
  "$hearth" generate -m "$model" -f "$work/big.txt"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$work/big.toml"
refused "run --config above the size limit" "big.toml': 2 MiB is above the limit" \
  "$hearth" run --config "$work/big.toml"
rm -f "$work/big.txt" "$work/big.toml"

# --- Deep TOML -----------------------------------------------------------------------------
deep=$(printf 'a.%.0s' $(seq 100000))a
config "$work/deep-header.toml" "[$deep]"
refused "run: a table header 100,000 levels deep" "deep-header.toml:3:[0-9]+: .*dotted parts" \
  "$hearth" run --config "$work/deep-header.toml"
refused "plugins --config: the same file" "deep-header.toml:3:" \
  "$hearth" plugins --config "$work/deep-header.toml"
config "$work/deep-key.toml" "$deep = 1"
refused "run: a dotted key 100,000 levels deep" "deep-key.toml:3:[0-9]+: .*dotted parts" \
  "$hearth" run --config "$work/deep-key.toml"
# A multi-line string closed by four quotes must not make the scan lose track of strings.
{ printf 'x = """q"""" # "[\n'; printf '[%s]\n' "$deep"; } >"$work/quotes.toml"
refused "plugins --config: a deep header after a four-quote string" "quotes.toml:2:" \
  "$hearth" plugins --config "$work/quotes.toml"
config "$work/deep-array.toml" "x = $(printf '[%.0s' $(seq 100000))$(printf ']%.0s' $(seq 100000))"
refused "run: arrays nested 100,000 deep" "deep-array.toml:3:[0-9]+: values nested" \
  "$hearth" run --config "$work/deep-array.toml"

# --- One rule for every source of a setting ----------------------------------------------
config "$work/plain.toml" '[prompt]' 'text = "Once"'
refused "run -t -1" "option -t: -1 is outside 0..1024" "$hearth" run --config "$work/plain.toml" -t -1
refused "run -n -2" "option -n: -2 is outside -1\.\." "$hearth" run --config "$work/plain.toml" -n -2
refused "run -n -3" "option -n: -3 is outside" "$hearth" run --config "$work/plain.toml" -n -3
refused "generate -n -2" "option -n: -2 is outside" "$hearth" generate -m "$model" -n -2
refused "generate --temp -1" "option --temp: -1 is outside \[0, 100\]" \
  "$hearth" generate -m "$model" --temp -1
refused "generate -t 100000" "option -t: 100000 is outside 0..1024" \
  "$hearth" generate -m "$model" -p hi -t 100000
refused "HEARTH_THREADS=2000" "HEARTH_THREADS: 2000 is outside 0..1024" \
  env HEARTH_THREADS=2000 "$hearth" run --config "$work/plain.toml"
config "$work/threads.toml" '[runtime]' 'threads = 2000'
refused "TOML threads = 2000" "threads.toml:4:11: \[runtime\] 'threads' = 2000 is outside 0..1024" \
  "$hearth" run --config "$work/threads.toml"
config "$work/kv.toml" '[runtime]' 'kv_cache_type = "q8"'
refused "kv_cache_type = \"q8\"" "kv.toml:4:17: .*kv_cache_type.*\"q8\" is not one of" \
  "$hearth" run --config "$work/kv.toml"
config "$work/isa.toml" '[runtime]' 'cpu_kernels = "avx9"'
refused "cpu_kernels = \"avx9\"" "isa.toml:4:15: .*\"avx9\" is not one of" \
  "$hearth" run --config "$work/isa.toml"
config "$work/device.toml" '[runtime]' 'device = ""'
refused "device = \"\"" "device.toml:4:10: .*'device': \"\" is not a device" \
  "$hearth" run --config "$work/device.toml"
config "$work/topp.toml" '[sampling]' 'top_p = 0.0'
refused "top_p = 0.0" "topp.toml:4:9: \[sampling\] 'top_p' = 0 is outside \(0, 1\]" \
  "$hearth" run --config "$work/topp.toml"
refused "--kv-type q8" "option --kv-type: \"q8\" is not one of" \
  "$hearth" generate -m "$model" --kv-type q8

# --- Counts and memory -------------------------------------------------------------------
refused "bench -p 2147483647" "option -p: 2147483647 is outside" \
  "$hearth" bench -m "$model" -p 2147483647 -n 0 -r 1
refused "bench counts beyond the context" "positions do not fit the context of 512 \(-c\)" \
  "$hearth" bench -m "$model" -c 512 -d 400 -p 200 -n 0 -r 1
refused "bench -p above one batch" "option -p: 70000 is outside 0..65536" \
  "$hearth" bench -m "$model" -p 70000 -n 0 -r 1
refused "generate -c 100000000" "option -c: 100000000 is outside 0..16777216" \
  "$hearth" generate -m "$model" -p hi -c 100000000
if [ -z "$sanitized" ]; then
  # AddressSanitizer reserves terabytes of address space, so limits apply to release builds.
  refused "bench -d far beyond the model's context, before allocating" \
    "-d 16000000 \+ max\(-p 1, -n 0\) = 16000001 positions do not fit the context of 4096 \(the model's default" \
    bash -c "ulimit -v 2000000; exec '$hearth' bench -m '$model' -d 16000000 -p 1 -n 0 -r 1"
  refused "a KV cache too large for memory names the cache and -c" \
    "KV cache: cannot allocate .* lower the context size \(-c" \
    bash -c "ulimit -v 2000000; exec '$hearth' generate -m '$model' -p hi -n 2 -c 16000000"
  refused "threads that cannot start (memory limit, -t 1000)" \
    "cpu: cannot start worker thread [0-9]+ of 1000" \
    bash -c "ulimit -v 2000000; exec '$hearth' generate -m '$model' -p hi -n 4 -t 1000"
  config "$work/many.toml" '[runtime]' 'threads = 1024' '[prompt]' 'text = "hi"'
  refused "threads = 1024 in TOML under a memory limit" "cannot start worker thread" \
    bash -c "ulimit -v 2000000; exec '$hearth' run --config '$work/many.toml'"
else
  echo "skip memory-limit cases (sanitized build)"
fi

# --- Hostile metadata ----------------------------------------------------------------------
$edit "$model" "$work/esc.gguf" 'general.name=str:\x1b[31mred\x07'
timeout "$limit" "$hearth" info "$work/esc.gguf" >"$work/out" 2>&1
if ! grep -q $'\x1b' "$work/out" && grep -q 'x1b\[31mred\\x07' "$work/out"; then
  ok "info escapes control characters in metadata"
else
  fail "info printed a raw control character"
fi
timeout "$limit" "$hearth" generate -m "$work/esc.gguf" -p hi -n 2 >/dev/null 2>"$work/err"
if ! grep -q $'\x1b' "$work/err" && grep -q 'x1b\[31mred' "$work/err"; then
  ok "generate's statistics line escapes the model name"
else
  fail "generate printed a raw control character"
fi
$edit "$model" "$work/esc-arch.gguf" 'general.architecture=str:\x1b]0;owned\x07'
refused "errors escape file bytes" 'unsupported architecture .\\x1b\]0;owned\\x07' \
  "$hearth" info "$work/esc-arch.gguf"
if ! grep -q $'\x1b' "$work/err"; then ok "and print no raw escape"; else fail "raw escape in error"; fi
$edit "$model" "$work/eps.gguf" llama.attention.layer_norm_rms_epsilon=f32:inf
refused "layer_norm_rms_epsilon = +inf" "layer_norm_rms_epsilon' = inf must be a positive finite" \
  "$hearth" generate -m "$work/eps.gguf" -p hi -n 2
$edit "$model" "$work/base.gguf" llama.rope.freq_base=f32:inf
refused "rope.freq_base = +inf" "rope.freq_base' = inf must be a positive finite" \
  "$hearth" generate -m "$work/base.gguf" -p hi -n 2
$edit "$model" "$work/blocks.gguf" llama.block_count=u32:4
refused "block_count smaller than the layers in the file" \
  "tensor 'blk.4.[a-z_.]+' belongs to layer 4 but metadata 'llama.block_count' = 4" \
  "$hearth" generate -m "$work/blocks.gguf" -p hi -n 2

exit $((failures > 0))
