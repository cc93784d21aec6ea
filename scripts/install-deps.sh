#!/usr/bin/env bash
# Installs hearth's build and test dependencies from Debian 12 packages (run as root).
# chromium renders the oae report in its test; python3-jinja2 renders chat templates for
# comparison; Node.js runs the official OpenAI client (npm "openai", pinned in
# tests/server/openai_client/package-lock.json) against `hearth serve` in its test; nginx
# fronts two replicas in the replica test; python3-yaml reads the Kubernetes examples. oneDNN
# (libdnnl-dev) is optional and not installed here: only a comparison benchmark uses it.
# hipcc, libamdhip64-dev and rocm-device-libs (hipcc fails without it) build the HIP backend;
# the CUDA backend builds when nvcc is at /usr/local/cuda (not a Debian package).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config python3 python3-numpy \
  libboost-dev libboost-filesystem-dev libtomlplusplus-dev catch2 libpcre2-dev \
  nlohmann-json3-dev chromium python3-jinja2 python3-yaml \
  hipcc libamdhip64-dev rocm-device-libs \
  >/dev/null
# Debian's nginx starts a server on port 80 when it is installed; the tests start their own,
# so services are kept from starting while it is installed (policy-rc.d exit 101: "denied").
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  policy=/usr/sbin/policy-rc.d
  if [ -e "$policy" ]; then
    apt-get install -y -qq --no-install-recommends nginx >/dev/null
  else
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    apt-get install -y -qq --no-install-recommends nginx >/dev/null || { rm -f "$policy"; exit 1; }
    rm -f "$policy"
  fi
fi
# Debian's Node.js and npm, unless a Node.js with its own npm is installed already.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
client=$(cd "$(dirname "$0")/../tests/server/openai_client" && pwd)
npm ci --prefix "$client" --no-audit --no-fund --loglevel=error >/dev/null
echo "dependencies installed"
