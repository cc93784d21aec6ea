#!/usr/bin/env bash
# `hearth oae run` and `hearth oae report` as users run them: a real workload on stories260K,
# the method (CAG) against its baseline (the full prompt), the report opened in headless
# Chromium. What the page shows must be what report.json holds, its charts must be drawn,
# and malformed run files must be refused with a message naming them.
# usage: oae_report_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
cd "$work"

printf 'Lily had a red ball. She played with it in the park every day. Tom was her friend.\n' >story.txt
cat >workload.toml <<'TOML'
name = "test"
documents = ["story.txt"]
max_tokens = 6
[method]
label = "cag"
knowledge = "cache"
[baseline]
label = "full-prompt"
knowledge = "prompt"
[[requests]]
at = 0.0
prompt = "Who had a ball?"
[[requests]]
at = 0.05
prompt = "Where did she play?"
[[requests]]
at = 0.3
prompt = "Who was her friend?"
TOML

"$hearth" oae run -m "$src/examples/models/stories260K.gguf" -t 1 --workload workload.toml \
  --out out --energy estimate >run.out 2>run.err
check "oae run exits 0" test $? -eq 0
for f in cag.json full-prompt.json cag.prom full-prompt.prom report.json report.html; do
  check "oae run wrote $f" test -s "out/$f"
done
check "oae run printed the report's path" grep -qx "out/report.html" run.out
check "the prom file is Prometheus text" grep -q '^# TYPE hearth_oae_requests_total counter$' out/cag.prom

# The runs themselves: three requests each, the method's one-time cost in its ledger, the
# estimate labelled as such.
check "the run files hold what the workload asked" python3 - out/cag.json out/full-prompt.json <<'PY'
import json, sys
cag, full = (json.load(open(p)) for p in sys.argv[1:3])
assert cag["label"] == "cag" and cag["baseline_label"] == "full-prompt", cag["label"]
for run in (cag, full):
    assert run["totals"]["requests"] == 3 and run["totals"]["failed"] == 0, run["totals"]
    assert all(r["generated_tokens"] == 6 and r["status"] == "ok" for r in run["requests"])
    assert run["energy_is_estimate"] is True and run["energy_source"] == "estimate"
    assert run["totals"]["joules"] > 0
assert [o["source"] for o in cag["overheads"]] == ["cag"], cag["overheads"]
assert full["overheads"] == []
# The baseline prefills the story in every prompt; the method only the question.
assert full["totals"]["prompt_tokens"] > 3 * cag["totals"]["prompt_tokens"], (
    full["totals"]["prompt_tokens"], cag["totals"]["prompt_tokens"])
# A question forks the preloaded prefix: its blocks are shared.
assert all(r["kv_shared_peak_bytes"] > 0 for r in cag["requests"]), cag["requests"]
# Each variant's peak RSS is its own: not the bandwidth probe's buffer (1 GiB), not the other's.
for run in (cag, full):
    assert 0 < run["peak_rss_bytes"] < 256 << 20, run["peak_rss_bytes"]
PY

"$hearth" oae run -m "$work/absent.gguf" --workload workload.toml --out absent --no-probe \
  >/dev/null 2>absent.err
check "oae run on a missing model: exit 1" test $? -eq 1
check "oae run on a missing model: names the file" grep -q "absent.gguf" absent.err

"$hearth" oae report --out again out/full-prompt.json out/cag.json >/dev/null 2>report.err
check "oae report exits 0 on the run files" test $? -eq 0
check "the report compares the same runs either way round" python3 - out/report.json again/report.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["comparisons"] == b["comparisons"], (a["comparisons"], b["comparisons"])
c = a["comparisons"][0]
assert c["method"] == "cag" and c["baseline"] == "full-prompt"
n = c["break_even_requests_time"]
if n != "never":
    # N* = overhead / (baseline per request - method per request), from the run files.
    runs = {r["label"]: r for r in a["runs"]}
    per = lambda r: sum(q["e2e_seconds"] for q in r["requests"]) / len(r["requests"])
    over = sum(o["seconds"] for o in runs["cag"]["overheads"])
    want = over / (per(runs["full-prompt"]) - per(runs["cag"]))
    assert abs(n - want) <= 1e-9 * max(1, want), (n, want)
PY

if ! command -v chromium >/dev/null 2>&1; then
  echo "skip: chromium is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
browse() {  # browse ARGS...: headless Chromium with a throw-away profile, no network
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$work/profile" --no-first-run --disable-extensions \
    --proxy-server=127.0.0.1:9 --window-size=1200,2600 "$@" 2>>chromium.err
}
browse --dump-dom "file://$work/out/report.html" >dom.html
check "chromium loads the report" test -s dom.html
browse --screenshot="$work/shot.png" "file://$work/out/report.html" >/dev/null
check "chromium takes a screenshot of it" test -s shot.png

check "the page shows what report.json holds, and draws its charts" \
  python3 - dom.html out/report.json shot.png <<'PY'
import html.parser, json, re, struct, sys, zlib

dom = open(sys.argv[1], encoding="utf-8").read()
report = json.load(open(sys.argv[2]))
runs = {r["label"]: r for r in report["runs"]}
comparisons = {c["method"]: c for c in report["comparisons"]}

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.tags, self.open_cell, self.text = {}, {}, None, ""
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.setdefault((tag, a.get("class")), []).append(a)
        if tag == "td" and "data-key" in a:
            self.open_cell, self.text = a, ""
    def handle_data(self, data):
        if self.open_cell is not None:
            self.text += data
    def handle_endtag(self, tag):
        if tag == "td" and self.open_cell is not None:
            self.cells[self.open_cell["data-key"]] = (self.open_cell.get("data-value"), self.text)
            self.open_cell = None

page = Page()
page.feed(dom)

def median(values):
    values = sorted(values)
    return values[(len(values) - 1) // 2] if values else 0

def expected(key):
    if key.startswith("compare."):
        _, method, field = key.split(".", 2)
        c = comparisons[method]
        if field.startswith("break_even_"):
            return c["break_even_requests_time" if field.endswith("seconds") else
                     "break_even_requests_energy"]
        return c[field]
    label, rest = key.split(".", 1)
    run = runs[label]
    if rest.startswith("totals.") or rest.startswith("roofline."):
        group, field = rest.split(".")
        return run[group][field]
    if rest.startswith("overheads."):
        _, index, field = rest.split(".")
        return run["overheads"][int(index)][field]
    per = {"ttft_p50": "ttft_seconds", "itl_p50": "itl_p50_seconds", "itl_p95": "itl_p95_seconds"}
    if rest in per:
        return median([r[per[rest]] for r in run["requests"]])
    if rest == "peak_rss_mib":
        return run["peak_rss_bytes"] / 1048576
    if rest == "meter_seconds":
        return run["meter_seconds"]
    if rest == "meter_share":
        t = run["totals"]
        return run["meter_seconds"] / (t["prefill_seconds"] + t["decode_seconds"])
    raise AssertionError("unexpected cell " + key)

assert len(page.cells) >= 35, len(page.cells)  # 14 per run, 8 per comparison, the ledger
for key, (value, text) in page.cells.items():
    want = expected(key)
    if want == "never":
        assert value is None and text == "never", (key, value, text)
        continue
    got = float(value)
    assert abs(got - want) <= 1e-12 * max(1, abs(want)), (key, got, want)
    shown = float(text.replace("\u2013", "nan"))
    assert abs(shown - want) <= 1e-3 * abs(want) + 1e-300, (key, text, want)  # 4 digits shown

for label in runs:
    for field in ("requests", "joules_per_token", "gco2e"):
        assert f"{label}.totals.{field}" in page.cells, (label, field)
assert "compare.cag.break_even_seconds" in page.cells
assert "estimate" in dom and 'class="estimate"' in dom  # the estimate is labelled
charts = page.tags.get(("svg", "chart"), [])
assert len(charts) == 5, len(charts)  # break-even, TTFT, ITL, throughput, energy
bars = page.tags.get(("rect", "bar"), [])
assert len(bars) == 3 * 2 * 2 + 2, len(bars)  # TTFT and ITL p50 per request and run; energy
lines = page.tags.get(("polyline", "series"), [])
assert len(lines) >= 2 + 4 + 2, len(lines)  # break-even, ITL p95/max, throughput
assert not re.search(r"\b(src|href)=\"https?:", dom)  # nothing fetched

# The screenshot: decode the PNG and find both runs' colours drawn in quantity.
data = open(sys.argv[3], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
assert depth == 8 and colour in (2, 6) and interlace == 0, header
bpp = 3 if colour == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
rows, prev, at = [], bytearray(stride), 0
for _ in range(height):
    kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    at += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
counts = {}
for line in rows:
    for i in range(0, stride, bpp):
        px = bytes(line[i:i + 3])
        counts[px] = counts.get(px, 0) + 1
for name, rgb in (("method", b"\x1f\x77\xb4"), ("baseline", b"\xd6\x27\x28")):
    assert counts.get(rgb, 0) > 200, (name, counts.get(rgb, 0))
PY

# Malformed run files: each refused, exit 1, the message naming the file and what is wrong.
refuse() {  # refuse NAME EXPECTED_TEXT FILE...
  local name=$1 want=$2; shift 2
  "$hearth" oae report --out bad "$@" >/dev/null 2>bad.err
  local rc=$?
  check "$name: exit 1" test $rc -eq 1
  check "$name: says '$want'" grep -qF -- "$want" bad.err
}
head -c 300 out/cag.json >truncated.json
refuse "a truncated run file" "truncated.json: not JSON" truncated.json
printf '[1, 2]' >array.json
refuse "a JSON array" "array.json: not a JSON object" array.json
python3 -c "import json; r=json.load(open('out/cag.json')); r['format']='other'; json.dump(r, open('format.json','w'))"
refuse "another format" "format.json: field 'format'" format.json
python3 -c "import json; r=json.load(open('out/cag.json')); r['version']=2; json.dump(r, open('version.json','w'))"
refuse "a newer version" "version.json: run file version not supported" version.json
python3 -c "import json; r=json.load(open('out/cag.json')); del r['totals']['joules']; json.dump(r, open('nojoules.json','w'))"
refuse "a missing field" "nojoules.json: totals: missing field 'joules'" nojoules.json
python3 -c "import json; r=json.load(open('out/cag.json')); r['requests'][1]['ttft_seconds']='fast'; json.dump(r, open('type.json','w'))"
refuse "a mistyped field" "type.json: requests[1]: field 'ttft_seconds' has the wrong type" type.json
refuse "a baseline not given" "names baseline 'full-prompt', which is not among the run files" out/cag.json
refuse "a file that is not there" "missing.json" missing.json
: >empty.json
refuse "an empty file" "empty.json: not JSON" empty.json
check "nothing was written for refused runs" test ! -e bad/report.html

exit $((failures > 0))
