# Shared by the container scripts (sourced, not run). Chooses the engine and keeps podman's
# configuration in one place.
#   container_engine  -> sets ENGINE (array): docker when a Docker engine answers, else podman with
#                        runc + cgroupfs (this machine: cgroup v1, no systemd, no crun)
#   write_containers_conf -> writes the containers.conf and exports CONTAINERS_CONF

MS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MS_CONTAINERS_CONF="${MS_CONTAINERS_CONF:-${XDG_CONFIG_HOME:-$HOME/.config}/movie-stream/containers.conf}"

write_containers_conf() {
  local want
  # default_ulimits = []: podman's default "nofile" ulimit can exceed what this VM/kernel permits.
  # cgroupfs + runc + file events: no systemd/journald here. Same settings as the command-line
  # flags, so podman-compose (which calls plain `podman`) behaves the same.
  want='[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
'
  if [[ ! -f "$MS_CONTAINERS_CONF" || "$(cat "$MS_CONTAINERS_CONF")" != "${want%$'\n'}" ]]; then
    mkdir -p "$(dirname "$MS_CONTAINERS_CONF")"
    printf '%s' "$want" >"$MS_CONTAINERS_CONF"
  fi
  export CONTAINERS_CONF="$MS_CONTAINERS_CONF"
}

container_engine() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    ENGINE=(docker)
  elif command -v podman >/dev/null 2>&1; then
    write_containers_conf
    ENGINE=(podman --runtime runc --cgroup-manager cgroupfs)
  else
    echo "neither a Docker engine nor podman is available; run tools/containers/setup.sh" >&2
    return 1
  fi
}

# version field of a package.json
pkg_version() { node -p "require('$1').version"; }
