#!/usr/bin/env bash
# Install and start the system parts Ponder needs beside Python: a Docker engine (with
# debootstrap for the offline sandbox image) and Chromium (for the report view's browser test).
# Idempotent: does nothing for what is already there. Needs root (or sudo) to install.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${PONDER_SKIP_CHROMIUM:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "system-deps: starting dockerd"
  $SUDO sh -c 'nohup dockerd >/tmp/ponder-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "system-deps: dockerd did not start; see /tmp/ponder-dockerd.log" >&2; exit 1; }
fi
echo "system-deps: docker $(docker version --format '{{.Server.Version}}') ready"
