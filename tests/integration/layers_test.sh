#!/usr/bin/env bash
# The layering rule, checked on the sources: the program (engine/src/cli) and the public
# headers (engine/include/hearth) include only the public API, their own headers and system
# headers. The build already keeps engine/src off their include paths; this also catches a
# relative path or an angle-bracket name that would reach past it.
# usage: layers_test.sh SOURCE_DIR
set -u
src=$1
failures=0

# A project header named in angle brackets (or through ..) would dodge the quoted-path rule.
internal_header() {
  [[ $1 == *..* || -e $src/engine/src/$1 || -e $src/backends/$1 ]]
}

public_header() {
  [[ $1 == hearth/* && $1 != *..* ]] &&
    { [ -f "$src/engine/include/$1" ] || [ -f "$src/sdk/include/$1" ]; }
}

# check_includes DIR OWN_PREFIX: every include in DIR's files is public, DIR's own (quoted as
# OWN_PREFIX/...) or a system header.
check_includes() {
  local dir=$1 own=$2 file number line name
  while IFS=: read -r file number line; do
    if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
      name=${BASH_REMATCH[1]}
      if public_header "$name"; then continue; fi
      if [ -n "$own" ] && [[ $name == "$own"/* && $name != *..* ]] &&
        [ -f "$dir/${name#"$own"/}" ]; then
        continue
      fi
    elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
      name=${BASH_REMATCH[1]}
      if ! internal_header "$name"; then continue; fi
    fi
    echo "FAIL ${file#"$src"/}:$number: $line"
    failures=$((failures + 1))
  done < <(grep -rnHE '^[[:space:]]*#[[:space:]]*include' "$dir")
}

check_includes "$src/engine/src/cli" cli
check_includes "$src/engine/include/hearth" ""

if [ "$failures" -gt 0 ]; then
  echo "$failures include(s) reach past the public API (engine/include/hearth, sdk/include)"
  exit 1
fi
echo "ok   the program and the public headers include only the public API"
