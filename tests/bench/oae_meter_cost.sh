#!/usr/bin/env bash
# What the oae meter adds to decode time: the same greedy generation through `hearth run`,
# with and without the oae plugin (energy estimate), alternating so that drift in the machine
# falls on both. Prints each pair's decode rates, the median ratio, and the meter's own timing
# of itself (meter_seconds of its run file) as a share of the run's prefill and decode time.
# usage: tests/bench/oae_meter_cost.sh [MODEL] [RUNS] [BUILD_DIR]
# Run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
model=$(realpath "${1:-$src/examples/models/stories260K.gguf}")
runs=${2:-21}
hearth=${3:-$src/build/release}/bin/hearth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_config() {  # $1 = file, $2 = extra TOML
  cat > "$1" <<TOML
[model]
path = "$model"
[runtime]
threads = 1
context_size = 2048
[sampling]
temperature = 0
max_tokens = 1500
ignore_eos = true
[prompt]
text = "Once upon a time"
$2
TOML
}
write_config "$work/plain.toml" ""
write_config "$work/metered.toml" '[[plugins]]
name = "oae"
[plugins.options]
energy = "estimate"'

rate() { "$hearth" run --config "$@" 2>&1 >/dev/null |
  sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p'; }

echo "| run | plain tok/s | with oae tok/s | with ÷ plain |"
echo "|---|---|---|---|"
ratios=()
for i in $(seq 1 "$runs"); do
  plain=$(rate "$work/plain.toml")
  metered=$(rate "$work/metered.toml" --metrics-out "$work/run-$i.json")
  ratio=$(python3 -c "print(f'{$metered / $plain:.4f}')")
  ratios+=("$ratio")
  echo "| $i | $plain | $metered | $ratio |"
done
python3 -c "import statistics, sys; r = [float(x) for x in sys.argv[1:]]; print(f'median with ÷ plain: {statistics.median(r):.4f} (meter cost {100 * (1 - statistics.median(r)):.2f}% of decode speed)')" "${ratios[@]}"
python3 - "$work"/run-*.json <<'PY'
import json, statistics, sys
shares = []
for path in sys.argv[1:]:
    run = json.load(open(path))
    busy = run["totals"]["prefill_seconds"] + run["totals"]["decode_seconds"]
    shares.append(run["meter_seconds"] / busy)
print(f"the meter's own time, median of {len(shares)} runs: {100 * statistics.median(shares):.3f}% of prefill + decode time")
PY
