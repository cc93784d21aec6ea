#!/usr/bin/env bash
# First command of the README: install dependencies, build hearth, generate from the bundled
# model. Progress goes to stderr, so stdout carries the generated text alone (as with
# `hearth generate` itself).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then scripts/install-deps.sh >&2; else sudo scripts/install-deps.sh >&2; fi
cmake --preset release >/dev/null
cmake --build --preset release >&2
build/release/bin/hearth generate -m examples/models/stories260K.gguf -p "Once upon a time" -n 120
