#!/usr/bin/env bash
# Installs hearth's build and test dependencies from Debian 12 packages (run as root).
# chromium renders the oae report in its test; python3-jinja2 renders chat templates for
# comparison. oneDNN (libdnnl-dev) is optional and not installed here: only a comparison
# benchmark uses it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config python3 python3-numpy \
  libboost-dev libboost-filesystem-dev libtomlplusplus-dev catch2 libpcre2-dev \
  nlohmann-json3-dev chromium python3-jinja2 \
  >/dev/null
echo "dependencies installed"
