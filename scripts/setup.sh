#!/usr/bin/env bash
# First command of the README: install dependencies, build hearth, generate from the bundled
# model.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
cmake --preset release >/dev/null
cmake --build --preset release
build/release/bin/hearth generate -m examples/models/stories260K.gguf -p "Once upon a time" -n 120
