#!/bin/bash
# Runs a main class with the Kafka jars, as apache/kafka's bin/kafka-run-class.sh does for the settings this
# image supports: KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS. The broker
# (kafka.Kafka) logs INFO to stdout; tools log WARN to stderr and start a small, quickly starting JVM
# (the healthcheck runs one every few seconds).
set -euo pipefail
class="${1:?usage: kafka-run-class.sh CLASS [ARGS...]}"
shift
if [[ "$class" == kafka.Kafka ]]; then
  heap="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
  perf="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
  log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties}"
else
  # A tool never takes the broker's heap (the broker's KAFKA_HEAP_OPTS is in the same environment).
  heap="-Xmx256m"
  perf="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Djava.awt.headless=true"
  log4j="-Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties"
fi
read -r -a heap <<<"$heap"
read -r -a perf <<<"$perf"
read -r -a log4j <<<"$log4j"
read -r -a opts <<<"${KAFKA_OPTS:-}"
exec /opt/java/bin/java "${heap[@]}" "${perf[@]}" "${log4j[@]}" "${opts[@]}" -cp '/opt/kafka/libs/*' "$class" "$@"
