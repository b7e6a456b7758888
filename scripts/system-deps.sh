#!/usr/bin/env bash
# Debian packages the full test suite uses: a Docker engine (docker.io), debootstrap for the
# local base image, chromium for the dashboard's browser tests, bubblewrap to run generated
# programs without network, curl for the engine probe in scripts/docker-engine.sh.
# Installs only what is missing; needs root (or sudo) when something is.
set -euo pipefail
packages=(docker.io debootstrap chromium bubblewrap curl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]}" >&2
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
