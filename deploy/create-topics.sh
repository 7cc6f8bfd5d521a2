#!/usr/bin/env bash
# One-shot topic setup of the compose stack (the `topic-setup` service runs it in the apache/kafka
# image). The same layout as libs/messaging pipelineTopics(): ratings spread over partitions,
# movies and mean-ratings compacted, two meta topics kept a week, a <topic>.dlq per input topic.
# Idempotent (--if-not-exists). The services would create missing topics too; doing it here first
# means they start on topics with the cluster's replication instead of racing each other.
# Env: BOOTSTRAP (host:port), TOPIC_* and RATINGS_PARTITIONS, TOPIC_REPLICATION_FACTOR (0 = 3),
#      KAFKA_TOPICS (the kafka-topics command; default the image's script).
set -euo pipefail
bootstrap="${BOOTSTRAP:?set BOOTSTRAP}"
read -r -a kafka_topics <<<"${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
rf="${TOPIC_REPLICATION_FACTOR:-0}"
[[ "$rf" == 0 ]] && rf=3
isr=$((rf > 1 ? rf - 1 : 1)) # as ensureTopics: one replica may be down while producing with acks=all
week=$((7 * 24 * 3600 * 1000))

create() { # name partitions [--config k=v ...]
  local name="$1" partitions="$2"
  shift 2
  "${kafka_topics[@]}" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor "$rf" --config "min.insync.replicas=$isr" "$@"
}

ratings="${TOPIC_RATINGS:-ratings}" movies="${TOPIC_MOVIES:-movies}" mean="${TOPIC_MEAN_RATINGS:-mean-ratings}"
meta="${TOPIC_META_PREFIX:-meta}"
# ratings, movies and mean-ratings co-partitioned: one count for all three (see docs/SCALING.md).
partitions="${RATINGS_PARTITIONS:-6}"
create "$ratings" "$partitions" --config "retention.ms=${RATINGS_RETENTION_MS:--1}"
# compact,delete without limits = compaction that still allows DeleteRecords (--reset-state empties the changelog).
compacted=(--config "cleanup.policy=compact,delete" --config retention.ms=-1 --config segment.ms=600000)
create "$movies" "$partitions" "${compacted[@]}"
create "$mean" "$partitions" "${compacted[@]}"
create "$meta.published" 1 --config "retention.ms=$week"
create "$meta.consumed" 1 --config "retention.ms=$week"
for t in "$ratings" "$movies" "$mean"; do create "$t.dlq" 1; done
echo "topics ready (replication $rf, min.insync.replicas $isr)"
