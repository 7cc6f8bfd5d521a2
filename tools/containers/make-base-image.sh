#!/usr/bin/env bash
# Makes the local base image localhost/movie-stream-node:20 for machines that cannot pull
# node:20-bookworm-slim: a root file system holding only this machine's own Node binary, the shared
# libraries ldd lists (with the dynamic loader), /etc/passwd+group with the app user (uid 10001),
# /tmp and the CA certificates — no shell, no package manager. Imported with `podman import`
# (or `docker import`). Idempotent: skipped when the image exists and carries the node binary's hash.
# Usage: tools/containers/make-base-image.sh [--force]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
container_engine

IMAGE="${BASE_IMAGE:-localhost/movie-stream-node:20}"
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_SHA="$(cat "$NODE_BIN" "$0" | sha256sum | cut -c1-64)"  # node binary + this recipe
NODE_VERSION="$(node --version)"
[[ "$NODE_VERSION" == v20.* ]] || echo "warning: the local node is $NODE_VERSION, not 20.x; the image is tagged $IMAGE anyway" >&2

if [[ "${1:-}" != --force ]] && "${ENGINE[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  have="$("${ENGINE[@]}" image inspect --format '{{ index .Config.Labels "movie-stream.node.sha256" }}' "$IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "$NODE_SHA" ]]; then
    echo "$IMAGE is up to date (node $NODE_VERSION, sha256 ${NODE_SHA:0:12})"
    exit 0
  fi
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
# Same top-level layout as the host (merged /usr: /lib, /lib64 may be symlinks), so the paths ldd
# printed are valid inside the image and the loader's default search path finds the libraries.
for d in lib lib64 lib32 libx32 bin sbin; do
  if [[ -L "/$d" ]]; then ln -s "$(readlink "/$d")" "$root/$d"; fi
done
mkdir -p "$root/usr/local/bin" "$root/etc"
install -d -m 1777 "$root/tmp"
cp "$NODE_BIN" "$root/usr/local/bin/node"
# `id` too, so `run --entrypoint id` shows the user as it does on node:20-bookworm-slim.
ID_BIN="$(command -v id || true)"
[[ -n "$ID_BIN" ]] && cp -L "$ID_BIN" "$root/usr/local/bin/id"

# The apps' native addons (lz4-napi's binary, copied beside each bundle) need librt, which node does not.
shopt -s nullglob
NATIVE_ADDONS=("$MS_ROOT"/node_modules/@antoniomuso/lz4-napi-*/*.node)
shopt -u nullglob
# Every library and the loader, with their real contents under the directory ldd printed (resolved),
# named as the binary asks for them (so no soname link chains are needed).
while read -r lib; do
  [[ -n "$lib" && -e "$lib" ]] || continue
  dest="$root$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
done < <(ldd "$NODE_BIN" ${ID_BIN:+"$ID_BIN"} "${NATIVE_ADDONS[@]}" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' | sort -u)

cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/usr/sbin/nologin
app:x:10001:10001:movie-stream:/tmp:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat >"$root/etc/group" <<'G'
root:x:0:
app:x:10001:
nogroup:x:65534:
G
# glibc 2.34+ has files/dns built in; this just makes the order explicit (compose service names
# resolve through podman's DNS).
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
touch "$root/etc/hosts" "$root/etc/resolv.conf"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  mkdir -p "$root/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi

chown -R 0:0 "$root"
tar -C "$root" --numeric-owner -cf "$root.tar" .
trap 'rm -rf "$root" "$root.tar"' EXIT

previous="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
"${ENGINE[@]}" import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL movie-stream.node.sha256=$NODE_SHA" \
  --change "LABEL movie-stream.node.version=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  "$root.tar" "$IMAGE" >/dev/null
# The replaced base stays while app images built on it exist; otherwise drop it.
[[ -n "$previous" ]] && { "${ENGINE[@]}" rmi "$previous" >/dev/null 2>&1 || true; }
echo "imported $IMAGE (node $NODE_VERSION from $NODE_BIN, $(du -h "$root.tar" | cut -f1) uncompressed)"
