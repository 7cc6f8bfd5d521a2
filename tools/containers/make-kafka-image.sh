#!/usr/bin/env bash
# Makes localhost/movie-stream-kafka:<version> for machines that cannot pull apache/kafka: the Kafka jars
# `tools/kafka/kafka.sh install` fetched from Maven Central into .kafka/lib, this machine's Java 17 runtime
# (cut down with jlink when the JDK's jmods are there, else copied whole), bash and the shared libraries
# ldd lists, and kafka/entrypoint.sh, which formats KRaft storage once and starts the broker from the
# same KAFKA_* environment apache/kafka reads (see deploy/README.md). Layout as in apache/kafka:
# /opt/kafka/bin/<tool>.sh, /opt/kafka/libs, uid 1000 (appuser), data in /var/lib/kafka/data.
# Imported with `podman import` (or `docker import`), like make-base-image.sh. Idempotent: skipped when
# the image exists and carries the same inputs' hash (jars, java, this recipe, the entrypoint).
# Usage: tools/containers/make-kafka-image.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
container_engine

LIB_DIR="$MS_ROOT/.kafka/lib"
if ! compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null; then
  bash "$MS_ROOT/tools/kafka/kafka.sh" install >&2
fi
kafka_jar="$(compgen -G "$LIB_DIR/kafka_2.13-*.jar" | head -1)"
KAFKA_VERSION="$(basename "$kafka_jar" .jar)"
KAFKA_VERSION="${KAFKA_VERSION#kafka_2.13-}"
IMAGE="${KAFKA_LOCAL_IMAGE:-localhost/movie-stream-kafka:$KAFKA_VERSION}"

JAVA_BIN="$(readlink -f "$(command -v java)")"
JAVA_HOME_DIR="$(dirname "$(dirname "$JAVA_BIN")")"
java_major="$("$JAVA_BIN" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')"
((java_major >= 17)) || { echo "Java $java_major at $JAVA_BIN: Kafka $KAFKA_VERSION needs 17+" >&2; exit 1; }
BASH_BIN="$(readlink -f "$(command -v bash)")"

INPUTS_SHA="$( (ls -l "$LIB_DIR"; cat "$JAVA_HOME_DIR/release" "$BASH_BIN" "$0" "$here/kafka/"*) | sha256sum | cut -c1-64)"
if [[ "${1:-}" != --force ]] && "${ENGINE[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  have="$("${ENGINE[@]}" image inspect --format '{{ index .Config.Labels "movie-stream.inputs.sha256" }}' "$IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "$INPUTS_SHA" ]]; then
    echo "$IMAGE is up to date (Kafka $KAFKA_VERSION, Java $java_major, sha256 ${INPUTS_SHA:0:12})"
    exit 0
  fi
fi

root="$(mktemp -d)"
trap 'rm -rf "$root" "$root.tar"' EXIT
for d in lib lib64 lib32 libx32 bin sbin; do
  if [[ -L "/$d" ]]; then ln -s "$(readlink "/$d")" "$root/$d"; fi
done
mkdir -p "$root/usr/bin" "$root/etc" "$root/opt/kafka/bin" "$root/opt/kafka/config" "$root/opt/kafka/libs" "$root/var/lib/kafka/data"
install -d -m 1777 "$root/tmp"

# Java: the modules a broker and its tools use (java.se: the standard API; jdk.unsupported: Unsafe for the
# compression libraries and Scala; jdk.management + agent: JMX; jdk.security.*: SASL/Kerberos logins;
# jdk.crypto.*: TLS ciphers; jdk.naming.dns, jdk.zipfs, jdk.jfr). Without jmods (a JRE only), the runtime whole.
jre="$root/opt/java"
if [[ -d "$JAVA_HOME_DIR/jmods" ]] && command -v jlink >/dev/null 2>&1 && [[ "${KAFKA_IMAGE_JLINK:-1}" == 1 ]]; then
  "$JAVA_HOME_DIR/bin/jlink" --module-path "$JAVA_HOME_DIR/jmods" --output "$jre" --strip-debug --no-header-files --no-man-pages --generate-cds-archive \
    --add-modules java.se,jdk.unsupported,jdk.management,jdk.management.agent,jdk.security.auth,jdk.security.jgss,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.naming.dns,jdk.zipfs,jdk.jfr
  how=jlink
else
  mkdir -p "$jre"
  # -L: Debian's JDK links conf files and cacerts into /etc; the image needs their contents.
  for d in bin lib conf release; do [[ -e "$JAVA_HOME_DIR/$d" ]] && cp -rL "$JAVA_HOME_DIR/$d" "$jre/" 2>/dev/null || true; done
  rm -f "$jre/lib/src.zip" "$jre/lib/ct.sym"
  how=copy
fi
# Debian's java trusts /etc/ssl/certs/java/cacerts through a link; keep the store itself.
if [[ -L "$JAVA_HOME_DIR/lib/security/cacerts" && -f "$(readlink -f "$JAVA_HOME_DIR/lib/security/cacerts")" ]]; then
  cp -L "$JAVA_HOME_DIR/lib/security/cacerts" "$jre/lib/security/cacerts"
fi

cp -L "$BASH_BIN" "$root/usr/bin/bash"
ln -s bash "$root/usr/bin/sh" # CMD-SHELL healthchecks run /bin/sh -c
ID_BIN="$(command -v id || true)"
[[ -n "$ID_BIN" ]] && cp -L "$ID_BIN" "$root/usr/bin/id"

# The libraries of bash, id, java and every JNI library of the runtime (those whose dependencies are
# not on this machine, e.g. the X11 ones of AWT, are never loaded by a broker: skipped).
while read -r lib; do
  [[ -n "$lib" && -e "$lib" ]] || continue
  dest="$root$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
  [[ -e "$dest" ]] && continue
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
done < <(
  {
    ldd "$BASH_BIN" ${ID_BIN:+"$ID_BIN"} "$jre/bin/java"
    find "$jre/lib" -name '*.so' -exec ldd {} \; 2>/dev/null
  } | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' | grep -v "^$jre/" | sort -u
)

cp "$LIB_DIR"/*.jar "$root/opt/kafka/libs/"
install -m 0755 "$here/kafka/entrypoint.sh" "$root/opt/kafka/entrypoint.sh"
install -m 0644 "$here/kafka/log4j2.properties" "$root/opt/kafka/config/log4j2.properties"
install -m 0644 "$here/kafka/tools-log4j2.properties" "$root/opt/kafka/config/tools-log4j2.properties"
install -m 0755 "$here/kafka/kafka-run-class.sh" "$root/opt/kafka/bin/kafka-run-class.sh"
# The tools apache/kafka ships under these names (the compose file's healthcheck and topic setup use two).
while read -r name class; do
  printf '#!/bin/bash\nexec /opt/kafka/bin/kafka-run-class.sh %s "$@"\n' "$class" >"$root/opt/kafka/bin/$name.sh"
  chmod 0755 "$root/opt/kafka/bin/$name.sh"
done <<'TOOLS'
kafka-server-start kafka.Kafka
kafka-storage kafka.tools.StorageTool
kafka-topics org.apache.kafka.tools.TopicCommand
kafka-broker-api-versions org.apache.kafka.tools.BrokerApiVersionsCommand
kafka-consumer-groups org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
kafka-configs kafka.admin.ConfigCommand
kafka-metadata-quorum org.apache.kafka.tools.MetadataQuorumCommand
kafka-console-consumer org.apache.kafka.tools.consumer.ConsoleConsumer
kafka-console-producer org.apache.kafka.tools.ConsoleProducer
TOOLS

cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/usr/sbin/nologin
appuser:x:1000:1000:kafka:/opt/kafka:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat >"$root/etc/group" <<'G'
root:x:0:
appuser:x:1000:
nogroup:x:65534:
G
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
touch "$root/etc/hosts" "$root/etc/resolv.conf"

chown -R 0:0 "$root"
# The broker writes its generated configuration and its data; a fresh named volume takes the mount
# point's owner, as with apache/kafka.
chown -R 1000:1000 "$root/opt/kafka/config" "$root/var/lib/kafka"
tar -C "$root" --numeric-owner -cf "$root.tar" .

previous="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
"${ENGINE[@]}" import \
  --change 'ENV PATH=/opt/kafka/bin:/opt/java/bin:/usr/bin:/bin' \
  --change 'ENV JAVA_HOME=/opt/java' \
  --change 'USER 1000:1000' \
  --change 'WORKDIR /opt/kafka' \
  --change 'EXPOSE 9092' \
  --change "LABEL movie-stream.inputs.sha256=$INPUTS_SHA" \
  --change "LABEL org.opencontainers.image.title=movie-stream-kafka" \
  --change "LABEL org.opencontainers.image.version=$KAFKA_VERSION" \
  --change "LABEL org.opencontainers.image.description=Apache Kafka $KAFKA_VERSION (jars from Maven Central) on Java $java_major" \
  --change 'ENTRYPOINT ["/opt/kafka/entrypoint.sh"]' \
  "$root.tar" "$IMAGE" >/dev/null
if [[ -n "$previous" ]]; then "${ENGINE[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
echo "imported $IMAGE (Kafka $KAFKA_VERSION, Java $java_major by $how, $(du -h "$root.tar" | cut -f1) uncompressed)"
