#!/usr/bin/env bash
# `hearth serve` as deployers run it: a real process on a loopback port, driven by the
# official OpenAI client (npm "openai", installed by scripts/install-deps.sh); a deployment
# file's [server] table; SIGTERM finishing a request in flight and exiting 0; bad settings
# exiting 1 with the reason.
# usage: server_cli_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
model=$src/examples/models/stories260K.gguf
template=$src/tests/data/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja
client=$src/tests/server/openai_client
cd "$work"

# Starts `hearth serve ARGS...` with its log in $1; sets $pid and $port once it listens.
start_server() {
  local log=$1; shift
  "$hearth" serve "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on .* (port \([0-9]*\))$/\1/p' "$log")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# GET or POST with python3 (always installed): prints the status, then the body.
http() {  # http METHOD URL [BODY [KEY]]
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 and sys.argv[3] else None
headers = {"Content-Type": "application/json"}
if len(sys.argv) > 4:
    headers["Authorization"] = "Bearer " + sys.argv[4]
request = urllib.request.Request(url, data=body, method=method, headers=headers)
try:
    with urllib.request.urlopen(request, timeout=60) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except OSError as e:
    print(0); print(e)
PY
}

echo "sk-hearth-test" >keys.txt
start_server serve.log -m "$model" --chat-template "$template" --listen 127.0.0.1:0 -t 1 \
  --api-key-file keys.txt
check "hearth serve starts and reports its port" test -n "$port"

if [ ! -d "$client/node_modules/openai" ]; then
  echo "FAIL the OpenAI client is not installed: run scripts/install-deps.sh (it runs npm ci in $client)"
  failures=$((failures + 1))
else
  node "$client/client_test.mjs" "http://127.0.0.1:$port/v1" sk-hearth-test stories260K >node.txt 2>&1
  status=$?
  sed 's/^/     /' node.txt
  check "the official OpenAI client's checks pass" test $status = 0
fi

kill -TERM "$pid"
wait "$pid"
check "SIGTERM on an idle server exits 0" test $? = 0
check "and it says what it served" grep -q "stopped: .* 0 KV blocks live" serve.log

# A deployment file's [server] table, with a path relative to the file.
mkdir deploy
echo "sk-from-file" >deploy/keys.txt
cat >deploy/deploy.toml <<TOML
[model]
path = "$model"
[runtime]
threads = 1
[sampling]
temperature = 0.0
[server]
listen = "127.0.0.1:0"
api_key_file = "keys.txt"
model_alias = "tiny-stories"
max_choices = 64
shutdown_grace = 90  # room for the 6 MB answer below in a sanitized build on a busy machine
TOML
start_server config.log --config deploy/deploy.toml
check "hearth serve --config starts" test -n "$port"
http GET "http://127.0.0.1:$port/v1/models" "" sk-from-file >models.txt
check "the alias is the model's id" grep -q '"id":"tiny-stories"' models.txt
http GET "http://127.0.0.1:$port/v1/models" >nokey.txt
check "the file's API key is required" test "$(head -1 nokey.txt)" = 401
http GET "http://127.0.0.1:$port/health" >health.txt
check "/health needs no key" test "$(head -1 health.txt)" = 200

# SIGTERM while a long streamed answer is in flight (64 choices, more than the sockets
# buffer, to a client that waits before reading): it is delivered in full within the grace,
# then the server exits 0.
python3 - "$port" >stream.txt 2>&1 <<'PY' &
import json, socket, sys, time
body = json.dumps({"model": "tiny-stories", "prompt": "Once", "max_tokens": 480,
                   "ignore_eos": True, "stream": True, "n": 64})
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-from-file\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode())
data = s.recv(100)
open("started", "w").close()
time.sleep(1.5)
while chunk := s.recv(65536):
    data += chunk
text = data.decode(errors="replace")
print(text.count('"finish_reason":"length"'), "choices ran to their length;",
      "[DONE]" if "data: [DONE]" in text else "no [DONE]")
PY
client_pid=$!
for _ in $(seq 1 200); do [ -e started ] && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid"
check "SIGTERM with a request in flight exits 0" test $? = 0
wait "$client_pid"
check "the answer in flight was delivered in full" grep -q "^64 choices ran to their length; \[DONE\]" stream.txt \
  || { cat stream.txt; tail -3 config.log; }
check "a refused new connection after shutdown" \
  bash -c "! python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $port), 2)' 2>/dev/null"

# Bad settings: exit 1, naming what is wrong.
printf '[model]\npath = "%s"\n[server]\nlisten = "127.0.0.1:0"\nmax_conections = 3\n' "$model" >typo.toml
"$hearth" serve --config typo.toml >out.txt 2>err.txt
check "an unknown [server] key exits 1" test $? = 1
check "naming it with file, line and column" grep -q "typo.toml:5:1: unknown key 'max_conections' in \[server\]" err.txt
"$hearth" serve -m "$model" --listen nowhere >out.txt 2>err.txt
check "a listen address without a port exits 1" test $? = 1
check "naming the address" grep -q "listen address 'nowhere'" err.txt
"$hearth" serve -m "$model" --listen 10.255.255.1:8080 >out.txt 2>err.txt
check "an address this machine does not have exits 1" test $? = 1
check "saying it cannot listen there" grep -q "cannot listen on 10.255.255.1:8080" err.txt
"$hearth" serve -m "$model" --listen 127.0.0.1:0 --api-key-file missing.txt >out.txt 2>err.txt
check "a missing API key file exits 1" test $? = 1
check "naming the file" grep -q "missing.txt" err.txt

[ "$failures" = 0 ]
