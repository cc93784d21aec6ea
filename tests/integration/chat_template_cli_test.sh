#!/usr/bin/env bash
# `hearth template` as deployers use it: a template file or a model's own
# tokenizer.chat_template, the model's BOS/EOS texts, the template's error on stderr with exit
# 1, and a model whose template cannot be rendered refused at load.
# usage: chat_template_cli_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
templates=$src/tests/data/chat_templates
model=$src/examples/models/stories260K.gguf
cd "$work"

printf '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]\n' >chat.json
"$hearth" template --chat-template "$templates/microsoft-Phi-3.5-mini-instruct.jinja" \
  --messages chat.json --eos '<EOS>' >out.txt 2>err.txt
check "a template file renders" test $? = 0
printf '<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<EOS>' >want.txt
check "byte for byte, with --eos" cmp out.txt want.txt

"$hearth" template --chat-template "$templates/microsoft-Phi-3.5-mini-instruct.jinja" \
  --messages chat.json --add-generation-prompt >out.txt 2>&1
check "--add-generation-prompt opens the assistant's turn" \
  test "$(tail -c 14 out.txt)" = "<|assistant|>"

printf '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]\n' >system.json
"$hearth" template --chat-template "$templates/google-gemma-2-2b-it.jinja" --messages system.json \
  >out.txt 2>err.txt
check "a template that raises exits 1" test $? = 1
check "and prints its message with the line and column" \
  grep -q "google-gemma-2-2b-it.jinja:1:[0-9]*: raise_exception: System role not supported" err.txt
check "and nothing on stdout" test ! -s out.txt

printf '{"messages": [{"role": "user", "content": "Weather?"}], "tools": [{"type": "function", "function": {"name": "get_weather"}}]}\n' >tools.json
"$hearth" template --chat-template "$templates/Qwen-Qwen2.5-7B-Instruct.jinja" --messages tools.json \
  >out.txt 2>&1
check "an object's other members are variables (tools)" \
  grep -q '{"type": "function", "function": {"name": "get_weather"}}' out.txt

"$hearth" template -m "$model" --messages chat.json >out.txt 2>err.txt
check "a model without a template is a clear error" test $? = 1
check "naming the model and the override" grep -q "no chat template.*--chat-template" err.txt

python3 "$src/tests/integration/gguf_edit.py" "$model" chat.gguf \
  "tokenizer.chat_template=str:{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}"
"$hearth" template -m chat.gguf --messages chat.json >out.txt 2>err.txt
check "-m renders the model's own template" test $? = 0
check "with the model's BOS and EOS texts" test "$(cat out.txt)" = "<s>[user]Hi[assistant]Hello.</s>"
"$hearth" template -m chat.gguf --messages chat.json --bos B --eos E >out.txt 2>&1
check "--bos and --eos override them" test "$(cat out.txt)" = "B[user]Hi[assistant]Hello.E"

python3 "$src/tests/integration/gguf_edit.py" "$model" bad.gguf \
  "tokenizer.chat_template=str:{% for m in messages %}{% include 'x' %}{% endfor %}"
"$hearth" template -m bad.gguf --messages chat.json >out.txt 2>err.txt
check "an unsupported template in a model is refused" test $? = 1
check "naming the model, the key, line and column" \
  grep -q "bad.gguf tokenizer.chat_template:1:27: the 'include' tag is not supported" err.txt
"$hearth" generate -m bad.gguf -p "Once" -n 2 >out.txt 2>err.txt
check "and loading the model fails the same way" \
  grep -q "bad.gguf tokenizer.chat_template:1:27: the 'include' tag is not supported" err.txt

cat >deploy.toml <<TOML
[model]
path = "$model"
chat_template = "missing.jinja"
TOML
"$hearth" run --config "$work/deploy.toml" -p "Once" -n 2 >out.txt 2>err.txt
check "[model] chat_template is read, relative to the file" grep -q "$work/missing.jinja" err.txt

"$hearth" template --messages chat.json >out.txt 2>err.txt
check "no template given: exit 1 with a message" grep -q "give -m MODEL or --chat-template FILE" err.txt

if [ "$failures" -gt 0 ]; then echo "$failures failed"; exit 1; fi
echo "all passed"
