#!/usr/bin/env bash
# Prepares a fresh Debian machine to build and run the images and the compose stack: podman + runc
# (when no Docker engine answers), docker-compose (1.29, run against podman's Docker-compatible API by
# stack.sh), the CNI dnsname plugin + dnsmasq (without them podman's networks have no DNS, and the
# stack's containers cannot find each other by service name), podman-compose, and the containers.conf.
# Idempotent. Needs root for apt-get.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "Docker engine answers: using it"
  docker version --format 'docker {{.Server.Version}}'
  exit 0
fi

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v podman-compose >/dev/null 2>&1 || missing+=(podman-compose)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[[ -x /usr/lib/cni/dnsname ]] || missing+=(golang-github-containernetworking-plugin-dnsname)
[[ -x /usr/sbin/dnsmasq ]] || missing+=(dnsmasq-base)
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "need root to apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

write_containers_conf
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
podman --version
runc --version | head -1
podman-compose --version 2>/dev/null | grep -i 'podman-compose' | head -1 || true
docker-compose version --short
