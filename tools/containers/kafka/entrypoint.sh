#!/bin/bash
# Entrypoint of the local Kafka image (make-kafka-image.sh): the subset of apache/kafka's behaviour the
# compose stack relies on, so either image runs from the same environment.
#  - Every KAFKA_<NAME> variable becomes the broker setting <name>: lower case, "_" -> ".", "__" -> "_",
#    "___" -> "-" (KAFKA_NODE_ID -> node.id, KAFKA_LISTENER_NAME_EXTERNAL_PLAIN_SASL_JAAS_CONFIG ->
#    listener.name.external.plain.sasl.jaas.config). JVM and logging variables are not settings.
#    No KAFKA_ setting at all: a single combined node on :9092 (controller :9093), as apache/kafka.
#  - The first start formats the log directory (CLUSTER_ID, default as apache/kafka's); later starts
#    find meta.properties and skip it.
#  - Then the broker replaces this shell (exec): it is PID 1 and gets SIGTERM itself (controlled shutdown).
set -euo pipefail
config=/opt/kafka/config/server.properties
not_settings=" KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_OPTS KAFKA_GC_LOG_OPTS KAFKA_JMX_OPTS \
KAFKA_JMX_PORT KAFKA_JMX_HOSTNAME KAFKA_VERSION KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL "

settings=()
for var in $(compgen -e); do
  [[ "$var" == KAFKA_* && "$not_settings" != *" $var "* ]] || continue
  key="${var#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/$'\x01'}"
  key="${key//_/.}"
  key="${key//$'\x01'/_}"
  settings+=("$key=${!var}")
done
if ((${#settings[@]} == 0)); then
  settings=(
    process.roles=broker,controller node.id=1 controller.quorum.voters=1@localhost:9093
    listeners=PLAINTEXT://:9092,CONTROLLER://:9093 advertised.listeners=PLAINTEXT://localhost:9092
    listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT controller.listener.names=CONTROLLER
    offsets.topic.replication.factor=1 transaction.state.log.replication.factor=1 transaction.state.log.min.isr=1
    share.coordinator.state.topic.replication.factor=1 share.coordinator.state.topic.min.isr=1
  )
fi
has() { local s; for s in "${settings[@]}"; do [[ "$s" == "$1="* ]] && return 0; done; return 1; }
has log.dirs || settings+=(log.dirs=/var/lib/kafka/data)
printf '%s\n' "# written by the entrypoint from the KAFKA_* environment on every start" "${settings[@]}" >"$config"

value() { local s; for s in "${settings[@]}"; do if [[ "$s" == "$1="* ]]; then echo "${s#*=}"; fi; done; }
dir="$(value metadata.log.dir)"
dir="${dir:-$(value log.dirs)}"
dir="${dir%%,*}"
if [[ ! -f "$dir/meta.properties" ]]; then
  echo "formatting $dir (cluster ${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw})"
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" --config "$config" --ignore-formatted
fi
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$config"
