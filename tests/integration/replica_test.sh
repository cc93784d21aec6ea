#!/usr/bin/env bash
# Two `hearth serve` replicas behind Debian's nginx on loopback, configured by the shipped
# examples/deploy/nginx/hearth.conf (its ports replaced), sharing one CAG cache directory: the
# first replica builds the knowledge set, the second loads it. Requests reach both; one
# replica killed (SIGKILL) and another stopped (SIGTERM) under load lose no request.
# usage: replica_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
pids=()
cleanup() {
  [ -f "$work/nginx.pid" ] && kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
  echo "FAIL nginx is not installed: run scripts/install-deps.sh (it installs Debian's nginx)"
  exit 1
fi
chmod 755 "$work"  # nginx's workers run as nobody when it is started by root
cd "$work"

read -r port_a port_b port_lb < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

mkdir -p site/docs
for i in $(seq 40); do printf 'The library opens at nine on day %s. Ask Anna at the desk. ' "$i"; done >site/docs/hours.md
cat >site/deploy.toml <<TOML
[model]
path = "$src/examples/models/stories260K.gguf"
[runtime]
threads = 1
context_size = 2048
[sampling]
temperature = 0
[server]
shutdown_grace = 20
[[plugins]]
name = "cag"
[plugins.options]
cache_dir = "cache"
[plugins.options.library]
documents = ["docs"]
TOML

# Starts a replica on PORT with its log in LOG; sets $pid once it listens.
start_replica() {  # start_replica LOG PORT
  "$hearth" serve --config site/deploy.toml --listen "127.0.0.1:$2" >"$1" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    grep -q "listening on 127.0.0.1:$2" "$1" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_replica a.log "$port_a"
pid_a=$pid
check "replica a starts" grep -q "listening on" a.log
check "and builds the knowledge set into the shared cache" grep -q "knowledge set 'library' built" a.log
check "whose file is there" test -f site/cache/library.cag
start_replica b.log "$port_b"
pid_b=$pid
check "replica b starts" grep -q "listening on" b.log
check "and loads the set from the shared cache" grep -q "knowledge set 'library' loaded from its cache" b.log

sed -e "s/127.0.0.1:8081/127.0.0.1:$port_a/" -e "s/127.0.0.1:8082/127.0.0.1:$port_b/" \
  -e "s/listen 8080;/listen 127.0.0.1:$port_lb;/" "$src/examples/deploy/nginx/hearth.conf" >hearth.conf
check "the example's ports were replaced" \
  bash -c "grep -q ':$port_a ' hearth.conf && grep -q ':$port_b ' hearth.conf && grep -q ':$port_lb;' hearth.conf"
cat >nginx.conf <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log $work/access.log combined;
  log_format upstreams '\$status \$upstream_addr \$upstream_status';
  access_log $work/upstreams.log upstreams;
  client_body_temp_path $work/tmp-body;
  proxy_temp_path $work/tmp-proxy;
  fastcgi_temp_path $work/tmp-fastcgi;
  uwsgi_temp_path $work/tmp-uwsgi;
  scgi_temp_path $work/tmp-scgi;
  include $work/hearth.conf;
}
NGINX
"$nginx" -t -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf" >nginx-t.log 2>&1
check "nginx accepts the configuration" test $? = 0 || cat nginx-t.log
"$nginx" -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf"
check "nginx starts" test $? = 0
for _ in $(seq 1 50); do [ -s nginx.pid ] && break; sleep 0.1; done

# The load client: WORKERS threads send completions through nginx for SECONDS; a request
# counts as failed unless it is a 200 with a whole answer. Prints "requests N failed F" and
# the first failures.
load() {  # load WORKERS SECONDS [KNOWLEDGE]
  python3 - "$port_lb" "$@" <<'PY'
import http.client, json, sys, threading, time
port, workers, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
knowledge = sys.argv[4] if len(sys.argv) > 4 else None
body = {"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": True, "n": 4}
if knowledge:
    body = {"prompt": "When does the library open?", "max_tokens": 32, "knowledge": knowledge}
payload = json.dumps(body)
count, failed, lock = [0], [], threading.Lock()
end = time.time() + seconds
def worker():
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/v1/completions", payload, {"Content-Type": "application/json"})
            r = c.getresponse()
            text = r.read().decode()
            ok = r.status == 200 and len(json.loads(text)["choices"]) == body.get("n", 1)
            outcome = None if ok else f"{r.status} {text[:200]}"
            c.close()
        except Exception as e:
            outcome = f"exception {e!r}"
        with lock:
            count[0] += 1
            if outcome:
                failed.append(outcome)
threads = [threading.Thread(target=worker) for _ in range(workers)]
for t in threads: t.start()
for t in threads: t.join()
print("requests", count[0], "failed", len(failed))
for f in failed[:5]: print("  ", f)
PY
}

# Both replicas answer, and the knowledge set gives the same greedy answer on each.
load 4 2 >warm.txt
check "requests through nginx succeed" grep -q " failed 0$" warm.txt || cat warm.txt
check "both replicas answered" \
  bash -c "grep -q '127.0.0.1:$port_a 200' upstreams.log && grep -q '127.0.0.1:$port_b 200' upstreams.log"
ask() {  # ask PORT: the greedy answer on the knowledge set, straight from one replica
  python3 -c '
import json, sys, urllib.request
r = urllib.request.urlopen(urllib.request.Request(
    "http://127.0.0.1:%s/v1/completions" % sys.argv[1], method="POST",
    data=json.dumps({"prompt": "When does the library open?", "max_tokens": 24,
                     "knowledge": "library"}).encode()), timeout=60)
print(json.loads(r.read())["choices"][0]["text"])' "$1"
}
answer_a=$(ask "$port_a")
answer_b=$(ask "$port_b")
check "a knowledge question gets the same answer from both replicas" \
  test -n "$answer_a" -a "$answer_a" = "$answer_b"
load 2 1 library >knowledge.txt
check "knowledge questions through nginx succeed" grep -q " failed 0$" knowledge.txt || cat knowledge.txt

# A stream through nginx arrives as server-sent events, ending with [DONE].
python3 - "$port_lb" >stream.txt <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
c.request("POST", "/v1/completions", json.dumps(
    {"prompt": "Once upon a time", "max_tokens": 40, "stream": True}))
r = c.getresponse()
text = r.read().decode()
print(r.status, text.count("data: {"), "events", "[DONE]" if "data: [DONE]" in text else "")
PY
check "a streamed answer comes through nginx" grep -Eq "^200 [0-9]+ events \[DONE\]" stream.txt

# Replica a killed outright in the middle of a run: nginx sends its requests, and those it
# had in flight, to b.
: >upstreams.log
load 4 6 >kill.txt &
load_pid=$!
sleep 2
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null
wait "$load_pid"
check "SIGKILL of one replica mid-run loses no request" grep -q " failed 0$" kill.txt || cat kill.txt
check "and the run was not trivial" test "$(awk 'NR == 1 {print $2}' kill.txt)" -ge 8 || head -1 kill.txt
check "nginx moved requests off the dead replica" grep -q "127.0.0.1:$port_a, 127.0.0.1:$port_b" upstreams.log

# Replica a restarted on its port loads the set again from the cache; then b is stopped
# gracefully (SIGTERM) mid-run: it finishes what it has, nginx sends the rest to a.
start_replica a2.log "$port_a"
pid_a=$pid
check "replica a restarts on its port" grep -q "listening on" a2.log
check "and loads the set from the cache again" grep -q "knowledge set 'library' loaded from its cache" a2.log
sleep 5.5  # nginx tries a again after fail_timeout
: >upstreams.log
load 4 15 >term.txt &
load_pid=$!
# Until a has answered one of them (nginx logs a request when it is answered).
for _ in $(seq 1 120); do
  grep -q "127.0.0.1:$port_a 200" upstreams.log && break
  sleep 0.1
done
check "a answers again after its restart" grep -q "127.0.0.1:$port_a 200" upstreams.log
kill -TERM "$pid_b"
wait "$pid_b"
check "replica b stopped by SIGTERM exits 0" test $? = 0
wait "$load_pid"
check "SIGTERM of one replica mid-run loses no request" grep -q " failed 0$" term.txt || cat term.txt
check "and b said what it served, no KV block left in requests" \
  grep -q "stopped: [1-9][0-9]* HTTP requests, .* 0 KV blocks live in requests, [1-9][0-9]* in knowledge sets" b.log

[ "$failures" = 0 ]
