#!/usr/bin/env bash
# Builds movie-stream/<app>:<version> and :latest from deploy/Dockerfile and dist/apps/<app>/
# (run `npx nx run <app>:build` first; the Nx `container` target does). Uses docker when a Docker
# engine answers, else podman (runc, cgroupfs). Base image: $NODE_IMAGE (default
# node:20-bookworm-slim); when it is neither present nor pullable, the local
# localhost/movie-stream-node:20 made by make-base-image.sh.
# Usage: tools/containers/build-image.sh <app>
set -euo pipefail
source "$(dirname "$0")/lib.sh"
app="${1:?usage: build-image.sh <app>}"
cd "$MS_ROOT"
[[ -f "apps/$app/package.json" ]] || { echo "no app $app in apps/" >&2; exit 2; }
for f in main.js snapshot-worker.js; do
  [[ -f "dist/apps/$app/$f" ]] || { echo "dist/apps/$app/$f missing: run npx nx run $app:build" >&2; exit 2; }
done
container_engine

version="$(pkg_version "./apps/$app/package.json")"
source_url="${SOURCE_URL:-$(node -p "const r=require('./package.json').repository; (r && (r.url || r)) || ''")}"
source_url="${source_url:-$(git config --get remote.origin.url 2>/dev/null || true)}"
source_url="${source_url:-unknown}"

node_image="${NODE_IMAGE:-node:20-bookworm-slim}"
if ! "${ENGINE[@]}" image inspect "$node_image" >/dev/null 2>&1 && ! timeout 120 "${ENGINE[@]}" pull -q "$node_image" >/dev/null 2>&1; then
  echo "cannot pull $node_image: using the local base image" >&2
  # flock: `nx run-many -t container` builds apps in parallel; make the base once.
  mkdir -p "${TMPDIR:-/tmp}"
  flock "${TMPDIR:-/tmp}/movie-stream-base-image.lock" bash "$MS_ROOT/tools/containers/make-base-image.sh" >&2
  node_image="localhost/movie-stream-node:20"
fi

args=(build -f deploy/Dockerfile
  --build-arg "APP=$app" --build-arg "NODE_IMAGE=$node_image"
  --build-arg "VERSION=$version" --build-arg "SOURCE=$source_url"
  -t "movie-stream/$app:$version" -t "movie-stream/$app:latest")
if [[ "${ENGINE[0]}" == podman ]]; then
  # docker format: the OCI format has no HEALTHCHECK. No layer cache: a build takes a second,
  # and cached intermediate images would pile up. Local base: never try a registry.
  args+=(--format docker --layers=false --ignorefile deploy/Dockerfile.dockerignore)
  [[ "$node_image" == localhost/* ]] && args+=(--pull=never)
fi

previous="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "movie-stream/$app:$version" 2>/dev/null || true)"
started=$(date +%s.%N)
"${ENGINE[@]}" "${args[@]}" -q . >/dev/null
current="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "movie-stream/$app:$version")"
# A rebuild leaves the old image untagged: drop it (fails harmlessly while a container uses it).
if [[ -n "$previous" && "$previous" != "$current" ]]; then "${ENGINE[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
size=$("${ENGINE[@]}" image inspect --format '{{.Size}}' "movie-stream/$app:$version")
echo "built movie-stream/$app:$version (+latest) on $node_image in ${seconds} s, $((size / 1000000)) MB"
