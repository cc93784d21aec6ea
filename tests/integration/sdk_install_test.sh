#!/usr/bin/env bash
# Installs hearth to a temporary prefix, builds examples/custom_plugin in a separate CMake
# run against the installed SDK only, then loads the plugin with the installed hearth.
# usage: sdk_install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/hearth"
test -f "$work/prefix/include/hearth/plugin.h"
test -f "$work/prefix/include/hearth/plugin.hpp"
test -f "$work/prefix/lib/cmake/hearth_sdk/hearth_sdkConfig.cmake"

# The example sees nothing of the source tree but its own folder.
cp -r "$src/examples/custom_plugin" "$work/plugin-src"
cmake -S "$work/plugin-src" -B "$work/plugin-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/plugin-build" >/dev/null
plugin="$work/plugin-build/hearth-request_log.so"
test -f "$plugin"

model=$src/examples/models/stories260K.gguf
"$work/prefix/bin/hearth" plugin-check "$plugin" -m "$model" -o path="$work/check.jsonl"

# Loaded by name from the installed plugin folder, configured in a deployment file.
mkdir -p "$work/prefix/lib/hearth/plugins"
cp "$plugin" "$work/prefix/lib/hearth/plugins/"
cat >"$work/deploy.toml" <<TOML
[model]
path = "$model"
[sampling]
temperature = 0.0
max_tokens = 20
[prompt]
text = "Once upon a time"
[[plugins]]
name = "request_log"
[plugins.options]
path = "$work/requests.jsonl"
TOML
"$work/prefix/bin/hearth" plugins | grep -q "request_log"
"$work/prefix/bin/hearth" run --config "$work/deploy.toml" >/dev/null 2>&1
grep -q '"generated_tokens":20' "$work/requests.jsonl"
echo "installed SDK builds and runs the out-of-tree plugin"
