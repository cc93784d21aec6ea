#!/usr/bin/env bash
# The layers the build relies on, checked on the sources: the core reaches backends only
# through backend.h and backend_registry.h, and backends never include the core.
# usage: layering_test.sh SOURCE_DIR
set -u
src=$1
failures=0

concrete=$(grep -rlE '#include "(cpu|cuda|hip)/' "$src/engine/src" --exclude-dir=cli)
if [ -n "$concrete" ]; then
  echo "FAIL the core includes a concrete backend: $concrete"
  failures=$((failures + 1))
fi
core=$(grep -rlE '#include "(api|config|kv_cache|model|plugins|runtime|sampling|tokenizer)/' \
  "$src/backends")
if [ -n "$core" ]; then
  echo "FAIL a backend includes the core: $core"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "ok   layers"
exit "$failures"
