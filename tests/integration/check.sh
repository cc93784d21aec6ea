# Sourced by the integration scripts: check NAME COMMAND... runs the command, prints ok or
# FAIL with the name, and counts failures in $failures.
failures=0

check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
