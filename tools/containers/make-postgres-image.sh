#!/usr/bin/env bash
# Makes localhost/movie-stream-postgres:<major> for machines that cannot pull postgres:15: this machine's
# PostgreSQL (/usr/lib/postgresql/<major>: postgres, initdb, pg_ctl, pg_isready, psql and the server's
# modules except the LLVM JIT; /usr/share/postgresql/<major>), the time zone data, bash and the few tools
# the entrypoint uses, the shared libraries ldd lists, and postgres/entrypoint.sh, which runs initdb on the
# first start from the same POSTGRES_* environment the official image reads (see deploy/README.md).
# Layout as in the official image: user postgres (uid/gid 999), data in /var/lib/postgresql/data, socket in
# /var/run/postgresql. Imported with `podman import` (or `docker import`), like make-kafka-image.sh.
# Idempotent: skipped when the image exists and carries the same inputs' hash (binaries, this recipe, the
# entrypoint).
# Usage: tools/containers/make-postgres-image.sh [--force]   (POSTGRES_MAJOR=15 picks one of several)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
container_engine

major="${POSTGRES_MAJOR:-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)}"
PG_HOME="/usr/lib/postgresql/$major"
PG_SHARE="/usr/share/postgresql/$major"
[[ -n "$major" && -x "$PG_HOME/bin/postgres" && -d "$PG_SHARE" ]] ||
  { echo "no PostgreSQL server here (/usr/lib/postgresql/<major>/bin/postgres): apt-get install postgresql" >&2; exit 1; }
version="$("$PG_HOME/bin/postgres" --version | awk '{ print $3 }')"
IMAGE="${POSTGRES_LOCAL_IMAGE:-localhost/movie-stream-postgres:$major}"
BINS=(postgres initdb pg_ctl pg_isready psql)
TOOLS=(bash id mkdir chmod rm)

INPUTS_SHA="$( (ls -lR "$PG_HOME" "$PG_SHARE"; for b in "${BINS[@]}"; do cat "$PG_HOME/bin/$b"; done; cat "$0" "$here/postgres/"*) | sha256sum | cut -c1-64)"
if [[ "${1:-}" != --force ]] && "${ENGINE[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  have="$("${ENGINE[@]}" image inspect --format '{{ index .Config.Labels "movie-stream.inputs.sha256" }}' "$IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "$INPUTS_SHA" ]]; then
    echo "$IMAGE is up to date (PostgreSQL $version, sha256 ${INPUTS_SHA:0:12})"
    exit 0
  fi
fi

root="$(mktemp -d)"
trap 'rm -rf "$root" "$root.tar"' EXIT
for d in lib lib64 lib32 libx32 bin sbin; do
  if [[ -L "/$d" ]]; then ln -s "$(readlink "/$d")" "$root/$d"; fi
done
mkdir -p "$root/usr/bin" "$root/etc" "$root$PG_HOME/bin" "$root$PG_HOME/lib" "$root/usr/share/postgresql" \
  "$root/var/lib/postgresql/data" "$root/var/run/postgresql" "$root/docker-entrypoint-initdb.d"
install -d -m 1777 "$root/tmp"

for b in "${BINS[@]}"; do cp -L "$PG_HOME/bin/$b" "$root$PG_HOME/bin/$b"; done
# The server's modules (plpgsql, the encoding conversions initdb loads, the contrib extensions), not the
# LLVM JIT: it would bring libLLVM (jit = off in the generated postgresql.conf).
find "$PG_HOME/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' -exec cp -L {} "$root$PG_HOME/lib/" \;
cp -rL "$PG_SHARE" "$root/usr/share/postgresql/"
# Debian's server reads the system's time zone data (--with-system-tzdata).
mkdir -p "$root/usr/share/zoneinfo"
(cd /usr/share/zoneinfo && tar --exclude=./right --exclude=./posix -cf - .) | tar -C "$root/usr/share/zoneinfo" -xf -
# initdb --locale=C.UTF-8: glibc's built-in locale where it is a directory of its own.
[[ -d /usr/lib/locale/C.utf8 ]] && mkdir -p "$root/usr/lib/locale" && cp -r /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"

tool_paths=()
for t in "${TOOLS[@]}"; do
  p="$(readlink -f "$(command -v "$t")")"
  cp -L "$p" "$root/usr/bin/$t"
  tool_paths+=("$p")
done
ln -s bash "$root/usr/bin/sh" # CMD-SHELL healthchecks, initdb and pg_ctl run /bin/sh -c

# The libraries of the programs and modules (a module whose dependencies are not on this machine, e.g.
# sepgsql's libselinux, is loaded only by CREATE EXTENSION / shared_preload_libraries: skipped).
while read -r lib; do
  [[ -n "$lib" && -e "$lib" ]] || continue
  dest="$root$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
  [[ -e "$dest" ]] && continue
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
done < <(
  {
    ldd "${tool_paths[@]}" "${BINS[@]/#/$PG_HOME/bin/}"
    find "$root$PG_HOME/lib" -name '*.so' -exec ldd {} \; 2>/dev/null
  } | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' | sort -u
)

install -D -m 0755 "$here/postgres/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/usr/sbin/nologin
postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat >"$root/etc/group" <<'G'
root:x:0:
postgres:x:999:
nogroup:x:65534:
G
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
touch "$root/etc/hosts" "$root/etc/resolv.conf"

chown -R 0:0 "$root"
# The server writes its data and its socket; a fresh named volume takes the mount point's owner, as with
# the official image.
chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
chmod 0700 "$root/var/lib/postgresql/data"
chmod 2775 "$root/var/run/postgresql"
tar -C "$root" --numeric-owner -cf "$root.tar" .

previous="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
"${ENGINE[@]}" import \
  --change "ENV PATH=$PG_HOME/bin:/usr/local/bin:/usr/bin:/bin" \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'USER 999:999' \
  --change 'WORKDIR /var/lib/postgresql' \
  --change 'EXPOSE 5432' \
  --change 'STOPSIGNAL SIGINT' \
  --change "LABEL movie-stream.inputs.sha256=$INPUTS_SHA" \
  --change "LABEL org.opencontainers.image.title=movie-stream-postgres" \
  --change "LABEL org.opencontainers.image.version=$version" \
  --change "LABEL org.opencontainers.image.description=PostgreSQL $version (this machine's binaries)" \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  "$root.tar" "$IMAGE" >/dev/null
if [[ -n "$previous" ]]; then "${ENGINE[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
echo "imported $IMAGE (PostgreSQL $version, $(du -h "$root.tar" | cut -f1) uncompressed)"
