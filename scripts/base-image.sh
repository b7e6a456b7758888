#!/usr/bin/env bash
# Build a local Python base image for machines that cannot pull from a registry.
#
#   scripts/base-image.sh [--record] [NAME]   # default NAME: scriptexec/python:3.11-bookworm
#   scripts/base-image.sh --record-if-present [NAME]
#
# --record writes NAME into ./scriptexec.toml ([image] base_image), which every
# `scriptexec build` and `status` in this project then use, unless the file names a base
# image already. --record-if-present builds nothing: it records NAME only when an engine
# answers and has it (what `make dscr` runs first), and is silent otherwise.
#
# Steps (each skipped when its image already exists, so running it again is cheap):
#   1. debootstrap --variant=minbase bookworm into a temporary root file system and
#      `docker import` it as scriptexec/bookworm-minbase;
#   2. a build FROM that which installs python3, python3-venv and python3-pip (Debian
#      bookworm's Python is 3.11) and makes `python` an alias of python3.
# The build uses host networking: with dockerd started with --iptables=false (see
# scripts/docker-engine.sh) a bridge-networked build step cannot reach deb.debian.org.
# The host's own certificate authorities (/usr/local/share/ca-certificates/*.crt, or
# SCRIPTEXEC_EXTRA_CA_DIR) are trusted in the image as well: behind a TLS-intercepting
# proxy, pip in an image build cannot reach PyPI otherwise.
#
# Talks to the engine at DOCKER_HOST (default: the system socket). Uses Debian's docker CLI
# at /usr/bin/docker when present: it matches Debian's dockerd, whereas another `docker`
# earlier on PATH may be a client of a different API version.
set -euo pipefail

MODE=build
case "${1:-}" in
    --record) MODE=record; shift ;;
    --record-if-present) MODE=record-if-present; shift ;;
esac
NAME="${1:-scriptexec/python:3.11-bookworm}"
CONFIG=scriptexec.toml
MINBASE="${SCRIPTEXEC_MINBASE_IMAGE:-scriptexec/bookworm-minbase}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
EXTRA_CA_DIR="${SCRIPTEXEC_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi

say() { echo "base-image: $*" >&2; }

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# record: name $NAME in ./scriptexec.toml, unless that file chooses a base image already.
record() {
    if [ -f "$CONFIG" ] && grep -q '^[[:space:]]*base_image[[:space:]]*=' "$CONFIG"; then
        return 0
    fi
    if [ -f "$CONFIG" ] && grep -q '^[[:space:]]*\[image\]' "$CONFIG"; then
        say "add base_image = \"$NAME\" under [image] in $CONFIG to build with it"
        return 0
    fi
    printf '\n# Written by scripts/base-image.sh: the local base image this machine builds FROM.\n[image]\nbase_image = "%s"\n' \
        "$NAME" >>"$CONFIG"
    say "recorded $NAME as this project's base image in $CONFIG"
}

if [ "$MODE" = record-if-present ]; then
    # No engine, no CLI, or no such image: nothing to record, and the build says the rest.
    if command -v "$DOCKER" >/dev/null && "$DOCKER" version >/dev/null 2>&1 && have_image "$NAME"; then
        record
    fi
    exit 0
fi

if ! "$DOCKER" version >/dev/null 2>&1; then
    say "no Docker engine answers at DOCKER_HOST=${DOCKER_HOST:-<default>}"
    say "start one with: export DOCKER_HOST=\"\$(scripts/docker-engine.sh start)\""
    exit 1
fi

if have_image "$NAME"; then
    say "$NAME exists; nothing to build"
    if [ "$MODE" = record ]; then record; fi
    exit 0
fi

if have_image "$MINBASE"; then
    say "$MINBASE exists; reusing it"
else
    command -v debootstrap >/dev/null || { say "debootstrap not found (apt-get install debootstrap)"; exit 1; }
    ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/scriptexec-rootfs.XXXXXX")"
    trap 'rm -rf "$ROOTFS"' EXIT
    say "debootstrap bookworm (minbase) into $ROOTFS"
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
        say "debootstrap failed; last lines of $ROOTFS.log:"
        tail -n 20 "$ROOTFS.log" >&2
        exit 1
    }
    rm -f "$ROOTFS.log"
    # The root file system is a build artefact; apt's downloaded .debs are dead weight.
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    say "importing it as $MINBASE"
    tar -C "$ROOTFS" -c . | "$DOCKER" import - "$MINBASE" >/dev/null
    rm -rf "$ROOTFS"
    trap - EXIT
fi

say "building $NAME (python3 from Debian bookworm)"
CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/scriptexec-base.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
mkdir "$CONTEXT/ca"
if compgen -G "$EXTRA_CA_DIR/*.crt" >/dev/null; then
    cp "$EXTRA_CA_DIR"/*.crt "$CONTEXT/ca/"
    say "trusting the host's extra CAs: $(cd "$CONTEXT/ca" && echo *.crt)"
fi
cat >"$CONTEXT/Dockerfile" <<EOF
FROM $MINBASE
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates \\
 && update-ca-certificates \\
 && ln -s /usr/bin/python3 /usr/local/bin/python \\
 && rm -rf /var/lib/apt/lists/*
# pip in virtual environments made from this image trusts the system's authorities too.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
EOF
"$DOCKER" build --network host --tag "$NAME" "$CONTEXT" >&2
say "built $NAME"
if [ "$MODE" = record ]; then record; fi
