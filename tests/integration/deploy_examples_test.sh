#!/usr/bin/env bash
# The deployment examples in examples/deploy/ hold together: the systemd units pass
# systemd-analyze verify (where systemd is installed) with a command line hearth accepts; the
# Kubernetes manifests parse, probe the endpoints hearth serves on the port its ConfigMap's
# deploy.toml listens on, and mount every path that file names; and that deploy.toml, with its
# paths moved into a scratch folder, starts `hearth serve`.
# usage: deploy_examples_test.sh HEARTH SOURCE_DIR
set -u
hearth=$1
src=$2
deploy=$src/examples/deploy
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
cd "$work"

# systemd: the units as shipped, but starting this build's program.
for unit in hearth.service hearth@.service; do
  sed "s|/usr/local/bin/hearth|$hearth|" "$deploy/systemd/$unit" >"$unit"
done
if command -v systemd-analyze >/dev/null; then
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify ./hearth.service ./hearth@.service >verify.txt 2>&1
  status=$?
  # verify also reports the units it pulls in (network-online.target) on machines without them.
  grep -v "network-online.target" verify.txt >verify-units.txt
  check "the systemd units pass systemd-analyze verify" \
    test $status = 0 -o ! -s verify-units.txt || cat verify.txt
else
  echo "skip systemd-analyze is not installed (package systemd)"
fi
for unit in hearth.service hearth@.service; do
  line=$(sed -n 's/^ExecStart=//p' "$unit" | sed 's/%i/8081/')
  # shellcheck disable=SC2086
  set -- $line
  shift 2  # the program and "serve"
  "$hearth" serve --help >help.txt 2>&1
  for flag in "$@"; do
    case "$flag" in
      --*) check "$unit: hearth serve knows $flag" grep -q -- "$flag" help.txt ;;
    esac
  done
done

# Kubernetes.
python3 - "$deploy/kubernetes/hearth.yaml" >k8s.txt 2>&1 <<'PY'
import sys, tomllib, yaml
docs = {d["kind"] + "/" + d["metadata"]["name"]: d for d in yaml.safe_load_all(open(sys.argv[1]))}
problems = []
def need(ok, what):
    if not ok:
        problems.append(what)
config = tomllib.loads(docs["ConfigMap/hearth-config"]["data"]["deploy.toml"])
open("deploy.toml", "w").write(docs["ConfigMap/hearth-config"]["data"]["deploy.toml"])
pod = docs["Deployment/hearth"]["spec"]["template"]["spec"]
container = pod["containers"][0]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
listen_port = int(config["server"]["listen"].rsplit(":", 1)[1])
need(ports.get("http") == listen_port, f"container port {ports} is not the listen port {listen_port}")
need(container["args"][:1] == ["serve"], "the container does not run hearth serve")
need(container["readinessProbe"]["httpGet"]["path"] == "/health", "readiness is not /health")
need(container["livenessProbe"]["httpGet"]["path"] == "/health/live", "liveness is not /health/live")
need(container["startupProbe"]["httpGet"]["path"] == "/health/live", "startup is not /health/live")
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    need(container[probe]["httpGet"]["port"] in ("http", listen_port), f"{probe} port")
grace = pod["terminationGracePeriodSeconds"]
pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
need(grace > config["server"]["shutdown_grace"] + pre_stop,
     "terminationGracePeriodSeconds leaves shutdown_grace no time after preStop")
mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
def mount_of(path):
    best = max((m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")),
               key=len, default=None)
    need(best is not None, f"{path} is on no volume")
    return mounts.get(best)
cag = next(p for p in config["plugins"] if p["name"] == "cag")["options"]
paths = [config["model"]["path"], config["server"]["api_key_file"], cag["cache_dir"]]
paths += [d for s in cag.values() if isinstance(s, dict) for d in s["documents"]]
for path in paths:
    mount_of(path)
cache = mount_of(cag["cache_dir"])
if cache:
    need(not cache.get("readOnly"), "the cache volume is read-only")
    claim = volumes[cache["name"]]["persistentVolumeClaim"]["claimName"]
    modes = docs["PersistentVolumeClaim/" + claim]["spec"]["accessModes"]
    need("ReadWriteMany" in modes, f"the cache volume {claim} is not ReadWriteMany: replicas share it")
need(docs["Deployment/hearth"]["spec"]["replicas"] >= 2, "fewer than two replicas")
service = docs["Service/hearth"]["spec"]
need(service["selector"] == docs["Deployment/hearth"]["spec"]["selector"]["matchLabels"],
     "the Service does not select the Deployment's pods")
need(service["ports"][0]["targetPort"] in ("http", listen_port), "the Service targets another port")
# The same file with its paths in this folder, for the start below.
text = open("deploy.toml").read()
for old, new in [(config["model"]["path"], "MODEL"), (config["server"]["api_key_file"], "keys.txt"),
                 (cag["cache_dir"], "cache"), ("/srv/documents", "documents"),
                 (config["server"]["listen"], "127.0.0.1:0")]:
    text = text.replace(old, new)
open("deploy.toml", "w").write(text)
print("problems:", len(problems))
for p in problems:
    print("  ", p)
PY
check "the Kubernetes manifests hold together" grep -q "^problems: 0$" k8s.txt || cat k8s.txt

sed -i "s|\"MODEL\"|\"$src/examples/models/stories260K.gguf\"|; s|^threads = .*|threads = 1|" deploy.toml
mkdir -p documents/handbook
echo "Leave is 25 days a year." >documents/handbook/leave.md
echo "sk-k8s-test" >keys.txt
"$hearth" serve --config deploy.toml >serve.log 2>&1 &
pid=$!
port=
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*listening on .* (port \([0-9]*\))$/\1/p' serve.log)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
check "the ConfigMap's deploy.toml starts hearth serve" test -n "$port" || cat serve.log
check "with its knowledge set built" grep -q "knowledge set 'handbook' built" serve.log
if [ -n "$port" ]; then
  status=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/health').status)")
  check "and /health is 200" test "$status" = 200
fi
kill -TERM "$pid"
wait "$pid"
check "SIGTERM stops it with exit 0" test $? = 0
pid=

[ "$failures" = 0 ]
