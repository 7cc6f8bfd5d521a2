#!/usr/bin/env bash
# The compose stack (deploy/docker-compose.yml) on this machine: Docker when a Docker engine answers
# (`docker compose`, else `docker-compose`), otherwise docker-compose 1.29 against podman's
# Docker-compatible API (`podman system service`, started here on a socket of our own and left running).
# Why not podman-compose: Debian 12's 1.0.3 ignores depends_on conditions, has no `config`, and wraps
# every healthcheck in /bin/sh -c (the services' base image has no shell).
#
#   stack.sh up [SERVICE...]   images (missing ones built; STACK_BUILD=1 rebuilds), `up -d`, then waits
#                              until every running container with a healthcheck is healthy
#   stack.sh down [-v]         `down` (-v: and the volumes)
#   stack.sh status            health (checks run once under podman), then `ps`
#   stack.sh health            the wait of `up` alone
#   stack.sh compose ARGS...   any compose command with the same settings (logs, exec, stop kafka-2, ...)
#   stack.sh secret            the PostgreSQL password file (generated when missing; `up` and `compose` do that
#                              too): prints its path
#
# Podman without systemd runs a healthcheck only when asked: while compose waits for
# `condition: service_healthy` and while `up` waits, this script runs `podman healthcheck run` on each
# container that is not healthy yet, one round per HEALTH_INTERVAL seconds (default 8; a broker's check
# starts a JVM). After that the health of a podman container is what the last `status` or `health` found.
#
# Env: COMPOSE_PROJECT_NAME (default movie-stream, or deploy/.env's), STACK_OVERRIDES (more compose files
# of deploy/, e.g. docker-compose.sasl.yml), KAFKA_IMAGE (default: deploy/.env's,
# else apache/kafka:4.1.2; when that is neither here nor pullable, the image make-kafka-image.sh builds
# from the project's Kafka jars), POSTGRES_IMAGE (the same with postgres:15 and make-postgres-image.sh, from
# this machine's PostgreSQL), POSTGRES_PASSWORD_SECRET (the password file, default deploy/secrets/postgres-password),
# STACK_TIMEOUT (s, default 300), every variable of deploy/.env.example.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
DEPLOY="$MS_ROOT/deploy"
COMPOSE_FILE_PATH="$DEPLOY/docker-compose.yml"
APP_IMAGES=(rating-producer movie-producer mean-rating-processor movie-data-sink monitor)
HEALTH_INTERVAL="${HEALTH_INTERVAL:-8}"
STACK_TIMEOUT="${STACK_TIMEOUT:-300}"

log() { echo "[stack] $*" >&2; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

# A setting as compose sees it: the environment first, then deploy/.env.
setting() { # name default
  local v="${!1:-}"
  [[ -z "$v" && -f "$DEPLOY/.env" ]] && v="$(sed -n "s/^$1=//p" "$DEPLOY/.env" | tail -1)"
  echo "${v:-$2}"
}
export COMPOSE_PROJECT_NAME="$(setting COMPOSE_PROJECT_NAME movie-stream)"

# The PostgreSQL password (the compose secret postgres-password): POSTGRES_PASSWORD_SECRET, relative to deploy/.
# Made when missing: 24 random bytes in hex, in a directory created 0700, so that only its owner (and root) can
# reach the file on this machine. The file itself is 0644: the containers' users (postgres 999, the services
# 10001; under rootless podman the file shows as root's) read it through its bind mount, which skips the directory.
# An existing file is used as it is (the postgres volume took that password when it was first initialised).
ensure_secret() {
  local file dir tmp
  file="$(setting POSTGRES_PASSWORD_SECRET ./secrets/postgres-password)"
  [[ "$file" == /* ]] || file="$DEPLOY/${file#./}"
  dir="$(dirname "$file")"
  if [[ ! -e "$file" ]]; then
    if [[ ! -d "$dir" ]]; then (umask 077 && mkdir -p "$dir") || die "cannot create $dir for the PostgreSQL password"; fi
    tmp="$(mktemp "$dir/.postgres-password.XXXXXX")" || die "cannot write the PostgreSQL password into $dir"
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$tmp"
    chmod 0644 "$tmp"
    mv "$tmp" "$file"
    log "generated the PostgreSQL password: $file (its directory $dir: mode $(stat -c %a "$dir"))"
  fi
  [[ -f "$file" && -r "$file" ]] || die "the PostgreSQL password file $file is not a readable file (POSTGRES_PASSWORD_SECRET)"
  [[ -n "$(tr -d '\n' <"$file")" ]] || die "the PostgreSQL password file $file is empty: delete it to have a new one generated"
  [[ -n "$(find "$file" -maxdepth 0 -perm -004)" ]] ||
    die "the containers' users cannot read $file (mode $(stat -c %a "$file")): chmod 644 it and keep its directory at 700"
  if [[ -n "$(find "$dir" -maxdepth 0 -perm /077)" ]]; then
    log "WARNING: other users of this machine can enter $dir (mode $(stat -c %a "$dir")) and read the PostgreSQL password: chmod 700 $dir"
  fi
  export POSTGRES_PASSWORD_SECRET="$file"
}
if [[ "${1:-}" == secret ]]; then
  ensure_secret
  echo "$POSTGRES_PASSWORD_SECRET"
  exit 0
fi

container_engine
if [[ "${ENGINE[0]}" == docker ]]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
else
  command -v docker-compose >/dev/null 2>&1 || die "docker-compose is missing: run tools/containers/setup.sh"
  COMPOSE=(docker-compose)
fi
COMPOSE+=(-f "$COMPOSE_FILE_PATH")
# STACK_OVERRIDES: more compose files from deploy/, e.g. docker-compose.sasl.yml (space-separated).
for f in ${STACK_OVERRIDES:-}; do COMPOSE+=(-f "$DEPLOY/$f"); done
COMPOSE+=(--project-directory "$DEPLOY")

# Podman: one API service per user, on its own socket (never the system's), started when it does not answer.
SERVICE_DIR="${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/movie-stream-podman-$(id -u)"
podman_service() {
  local dir="$SERVICE_DIR"
  local sock="$dir/podman.sock" i
  # Only compose gets DOCKER_HOST: with it exported, lib.sh would take the socket for a Docker engine.
  DOCKER_HOST_URL="unix://$sock"
  COMPOSE=(env "DOCKER_HOST=$DOCKER_HOST_URL" "${COMPOSE[@]}")
  if podman --remote --url "$DOCKER_HOST_URL" version >/dev/null 2>&1; then return; fi
  mkdir -p "$dir"
  rm -f "$sock"
  # setsid + nohup in a subshell: it outlives this script and is not its child (a `wait` here never waits for
  # it); later compose commands reuse it; `down` ends it when no compose container is left.
  (
    setsid nohup "${ENGINE[@]}" system service --time=0 "$DOCKER_HOST_URL" >"$dir/service.log" 2>&1 </dev/null &
    echo $! >"$dir/service.pid"
  )
  for ((i = 0; i < 100; i++)); do
    podman --remote --url "$DOCKER_HOST_URL" version >/dev/null 2>&1 && { log "podman API service on $sock (pid $(cat "$dir/service.pid"))"; return; }
    sleep 0.1
  done
  die "podman system service did not answer on $sock (log: $dir/service.log)"
}
[[ "${ENGINE[0]}" == podman ]] && podman_service

compose() { "${COMPOSE[@]}" "$@"; }

# An image setting (KAFKA_IMAGE, POSTGRES_IMAGE): used when here or pullable; the official image that is neither
# is replaced by the one the script builds from this machine's files (any other name is an error).
pick_image() { # variable default official-prefix make-script
  local image made
  image="$(setting "$1" "$2")"
  if ! "${ENGINE[@]}" image inspect "$image" >/dev/null 2>&1 && ! timeout 120 "${ENGINE[@]}" pull -q "$image" >/dev/null 2>&1; then
    [[ "$image" == "$3"* ]] || die "$1 $image is neither here nor pullable"
    log "cannot pull $image: using the image $4 builds from this machine's files"
    made="$(bash "$here/$4")"
    echo "$made" >&2
    image="$(sed -n 's/^\(imported \)\{0,1\}\(localhost\/[^ ]*\).*/\2/p' <<<"$made")"
    [[ -n "$image" ]] || die "$4 did not name its image"
  fi
  export "$1=$image"
}

ensure_images() {
  local app missing=()
  pick_image KAFKA_IMAGE apache/kafka:4.1.2 apache/kafka: make-kafka-image.sh
  pick_image POSTGRES_IMAGE postgres:15 postgres: make-postgres-image.sh
  local version
  version="$(setting MOVIE_STREAM_VERSION latest)"
  for app in "${APP_IMAGES[@]}"; do
    if [[ "${STACK_BUILD:-0}" == 1 ]] || ! "${ENGINE[@]}" image inspect "movie-stream/$app:$version" >/dev/null 2>&1; then missing+=("$app"); fi
  done
  if ((${#missing[@]})); then
    log "building ${missing[*]}"
    (cd "$MS_ROOT" && npx nx run-many -t container -p "${missing[@]}" --output-style=static >&2)
  fi
}

# Running containers of the project that have a healthcheck and are not healthy: "id name status".
unhealthy() {
  local id
  for id in $("${ENGINE[@]}" ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"); do
    "${ENGINE[@]}" inspect --format '{{.Id}} {{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2>/dev/null
  done | awk '$3 != "healthy" && $3 != "none" && $3 != ""'
}

# One round: under podman run each pending check (in parallel: a broker's check is a JVM start).
health_round() {
  local pending id name status pids=()
  pending="$(unhealthy)"
  [[ -n "$pending" ]] || return 0
  if [[ "${ENGINE[0]}" == podman ]]; then
    while read -r id name status; do
      "${ENGINE[@]}" healthcheck run "$id" >/dev/null 2>&1 &
      pids+=($!)
    done <<<"$pending"
    wait "${pids[@]}" || true
    pending="$(unhealthy)"
  fi
  [[ -z "$pending" ]]
}

wait_healthy() { # deadline (epoch s)
  until health_round; do
    if (($(date +%s) >= $1)); then
      log "not healthy after ${STACK_TIMEOUT}s:"
      unhealthy | awk '{ print "  " $2 " " $3 }' >&2
      return 1
    fi
    sleep "$HEALTH_INTERVAL"
  done
}

cmd="${1:-status}"
shift || true
case "$cmd" in
  up)
    started=$(date +%s.%N)
    deadline=$(($(date +%s) + STACK_TIMEOUT))
    ensure_secret
    ensure_images
    images_done=$(date +%s.%N)
    # compose waits for the brokers' health before topic-setup: drive the checks meanwhile (podman).
    if [[ "${ENGINE[0]}" == podman ]]; then
      (while sleep "$HEALTH_INTERVAL"; do health_round >/dev/null 2>&1 || true; done) &
      driver=$!
      trap 'kill "$driver" 2>/dev/null || true' EXIT
    fi
    compose up -d --remove-orphans "$@"
    [[ -n "${driver:-}" ]] && { kill "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true; }
    wait_healthy "$deadline"
    awk -v a="$started" -v b="$images_done" -v c="$(date +%s.%N)" \
      'BEGIN { printf "[stack] up and healthy in %.1f s (images %.1f s, containers %.1f s)\n", c - a, b - a, c - b }' >&2
    ;;
  down)
    compose down --remove-orphans "$@"
    # The API service we started, once no compose project (ours or another's on the same socket) has containers.
    if [[ "${ENGINE[0]}" == podman && -f "$SERVICE_DIR/service.pid" && -z "$("${ENGINE[@]}" ps -aq --filter label=com.docker.compose.project)" ]]; then
      pid="$(cat "$SERVICE_DIR/service.pid")"
      if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "system service --time=0 unix://$SERVICE_DIR/podman.sock"; then
        kill "$pid" && rm -f "$SERVICE_DIR/service.pid" && log "stopped the podman API service (pid $pid)"
      fi
    fi
    ;;
  health) wait_healthy $(($(date +%s) + STACK_TIMEOUT)) ;;
  status)
    health_round || true
    compose ps "$@"
    ;;
  compose)
    ensure_secret
    compose "$@"
    ;;
  *) die "usage: stack.sh up|down|status|health|compose|secret ..." ;;
esac
