#!/usr/bin/env bash
# `hearth chat` with piped turns: the template is required, each turn reuses the KV cache of
# the turns before it and prefills only the rest, /reset empties it, multi-line input arrives
# as one turn, /exit and the end of input end with exit 0, and a bad template file exits 1.
# usage: chat_cli_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
model=$src/examples/models/stories260K.gguf
cd "$work"

# A ChatML-like template: every message's content appears in the prompt as it was typed.
cat >chatml.jinja <<'TEMPLATE'
{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}
TEMPLATE

echo "Hello" | "$hearth" chat -m "$model" >out.txt 2>err.txt
check "a model without a template is an error (exit 1)" test $? = 1
check "that asks for --chat-template" grep -q "no chat template.*--chat-template FILE" err.txt

echo "Hello" | "$hearth" chat -m "$model" --chat-template missing.jinja >out.txt 2>err.txt
check "a missing --chat-template file exits 1" test $? = 1
check "naming the file" grep -q "missing.jinja" err.txt
printf '{%% include "x" %%}' >unsupported.jinja
echo "Hello" | "$hearth" chat -m "$model" --chat-template unsupported.jinja >out.txt 2>err.txt
check "an unusable template file exits 1" test $? = 1
check "naming the file, line and column" grep -q "unsupported.jinja:1:" err.txt

chat() {
  "$hearth" chat -m "$model" --chat-template chatml.jinja --temp 0 -n 12 -t 1 --show-prompt "$@"
}
# turn N's "prompt P tokens: R reused from the cache, F prefilled" as "P R F"
turn_counts() {
  sed -n "s/^hearth: turn $1 | prompt \([0-9]*\) tokens: \([0-9]*\) reused from the cache, \([0-9]*\) prefilled.*/\1 \2 \3/p" "$2"
}

printf '%s\n' 'Once upon a time' 'The cat sat on the mat' '/reset' 'line one \' 'line two' \
  '"""' 'block a' '' 'block b' '"""' '/exit' 'never answered' >turns.txt
chat --system "Tell a story." <turns.txt >out.txt 2>err.txt
check "a piped conversation ends at /exit with exit 0" test $? = 0
check "four turns answered, none after /exit" test "$(grep -c '^hearth: turn ' err.txt)" = 4
check "the replies are streamed to stdout" test "$(grep -c . out.txt)" -ge 2
read -r p1 r1 f1 <<<"$(turn_counts 1 err.txt)"
read -r p2 r2 f2 <<<"$(turn_counts 2 err.txt)"
read -r p3 r3 f3 <<<"$(turn_counts 3 err.txt)"
read -r p4 r4 f4 <<<"$(turn_counts 4 err.txt)"
check "turn 1 prefills its whole prompt" test "${r1:-x}" = 0 -a "${f1:-x}" = "${p1:-y}"
check "turn 2 reuses at least turn 1's prompt from the cache ($r2 of $p2)" test "${r2:-0}" -ge "${p1:-1}"
check "and prefills only the rest ($f2 of $p2)" test "${f2:-0}" -lt "${p2:-0}" -a $((r2 + f2)) = "${p2:-x}"
check "after /reset nothing is reused" test "${r3:-x}" = 0 -a "${f3:-x}" = "${p3:-y}"
check "the system message opens the conversation again after /reset" \
  test "$(grep -c '^hearth: prompt: <s><|im_start|>system\\nTell a story.<|im_end|>' err.txt)" = 4
check "a line ending in \\ continues the turn" \
  grep -q '<|im_start|>user\\nline one \\nline two<|im_end|>\\n<|im_start|>assistant\\n$' err.txt
check "lines between \"\"\" are one turn" \
  grep -q '<|im_start|>user\\nblock a\\n\\nblock b<|im_end|>\\n<|im_start|>assistant\\n$' err.txt
check "turn 4 reuses turn 3" test "${r4:-0}" -ge "${p3:-1}"

chat --system "Tell a story." <turns.txt >again.txt 2>/dev/null
check "greedy replies are the same on every run" cmp out.txt again.txt

printf 'Once upon a time\nThe cat sat on the mat\n' | chat >out.txt 2>err.txt
check "the end of input ends the conversation with exit 0" test $? = 0
check "after answering every turn" test "$(grep -c '^hearth: turn ' err.txt)" = 2
# What a reused cache gives must be what a fresh prefill of the same prompt gives: turn 2's
# reply against `hearth generate` on turn 2's rendered prompt (BOS added by generate, the
# --show-prompt escapes undone).
sed -n 's/^hearth: prompt: <s>//p' err.txt | sed -n 2p >prompt2.escaped
python3 -c 'import sys; sys.stdout.write(open(sys.argv[1]).read().rstrip("\n").encode().decode("unicode_escape"))' \
  prompt2.escaped >prompt2.txt
"$hearth" generate -m "$model" -f prompt2.txt --temp 0 -n 12 -t 1 2>/dev/null | head -n 1 >fresh.txt
sed -n 2p out.txt >reused.txt
check "turn 2's reply on the reused cache is the reply to a fresh prefill" cmp fresh.txt reused.txt

printf 'Once upon a time\nno newline at the end' | chat >out.txt 2>err.txt
check "a last line without a newline is a turn" test "$(grep -c '^hearth: turn ' err.txt)" = 2

# A template that raises on the second turn: that turn is an error, the conversation goes on.
printf '{%% if messages|length > 2 %%}{{ raise_exception("one turn only") }}{%% endif %%}' >once.jinja
printf '{%% for m in messages %%}{{ m.content }}{%% endfor %%}' >>once.jinja
printf 'first\nsecond\n' | "$hearth" chat -m "$model" --chat-template once.jinja --temp 0 -n 4 \
  >out.txt 2>err.txt
status=$?
check "a turn the template refuses is reported" grep -q "once.jinja:1:.*one turn only" err.txt
check "and the conversation goes on to exit 0" test $status = 0
check "after the one turn it answered" test "$(grep -c '^hearth: turn ' err.txt)" = 1

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
