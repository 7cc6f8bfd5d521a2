#!/usr/bin/env bash
# Local Apache Kafka (KRaft, combined broker+controller) for development and tests.
# See tools/kafka/README.md. Runtime state lives in <repo>/.kafka/.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE_DIR="$REPO_ROOT/.kafka"
LIB_DIR="$STATE_DIR/lib"
STAMP_FILE="$LIB_DIR/.installed"
POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONF="$SCRIPT_DIR/log4j2.properties"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

log() { echo "[kafka] $*"; }
die() { echo "[kafka] ERROR: $*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: $(basename "$0") <command> [options]

  install                          fetch Kafka jars into .kafka/lib (idempotent)
  start [--brokers 1|3] [--broker i]
                                   start a 1- (default) or 3-broker KRaft cluster,
                                   or (re)start only broker i of it
  stop [--broker i] [--kill]       stop all brokers (or broker i); --kill = SIGKILL now
  status                           one line per broker; exit 0 if any up, 3 if none
  reset                            stop, then delete all cluster data (keeps jars)
  perf-producer ARGS...            org.apache.kafka.tools.ProducerPerformance
  perf-consumer ARGS...            org.apache.kafka.tools.ConsumerPerformance
  topics ARGS...                   org.apache.kafka.tools.TopicCommand
  run CLASS ARGS...                any main class with the Kafka jars on the classpath

env: KAFKA_BROKERS (external cluster: start does nothing), KAFKA_HEAP,
     KAFKA_INSTANCE + KAFKA_PORT_BASE (an independent cluster: state in .kafka/instances/<name>,
       broker i on port KAFKA_PORT_BASE+i, controller on KAFKA_PORT_BASE+10000+i; default 9091),
     KAFKA_HOST (the IPv4 address the client listeners bind and advertise, default 127.0.0.1; e.g. a
       veth address for clients in a network namespace; the controller port stays on 127.0.0.1),
     KAFKA_SASL_PLAIN=user:password (start: the client port is a SASL_PLAINTEXT listener with
       mechanism PLAIN and this one user; brokers talk to each other over it too; the controller
       port stays PLAINTEXT),
     KAFKA_START_TIMEOUT (s, default 90), KAFKA_STOP_TIMEOUT (s, default 30)
EOF
}

# ---------------------------------------------------------------- helpers

# KAFKA_INSTANCE + KAFKA_PORT_BASE run a second, independent cluster beside the default one (fault tests
# and experiments kill brokers without touching the broker that other work uses).
INSTANCE="${KAFKA_INSTANCE:-}"
PORT_BASE="${KAFKA_PORT_BASE:-9091}"
[[ -z "$INSTANCE" || "$INSTANCE" =~ ^[a-z0-9-]+$ ]] || die "KAFKA_INSTANCE must be lower-case letters, digits and dashes"
CLUSTERS_DIR="$STATE_DIR${INSTANCE:+/instances/$INSTANCE}"

# KAFKA_SASL_PLAIN=user:password: clients must authenticate (SASL/PLAIN) to test SASL end to end.
SASL_PLAIN="${KAFKA_SASL_PLAIN:-}"
SASL_USER="" SASL_PASSWORD=""
if [[ -n "$SASL_PLAIN" ]]; then
  [[ "$SASL_PLAIN" == *:* ]] || die "KAFKA_SASL_PLAIN must be user:password"
  SASL_USER="${SASL_PLAIN%%:*}"
  SASL_PASSWORD="${SASL_PLAIN#*:}"
  # both end up quoted inside a JAAS line of server.properties
  [[ "$SASL_USER" =~ ^[A-Za-z0-9._-]+$ ]] || die "KAFKA_SASL_PLAIN: the user must be letters, digits, '.', '_' or '-'"
  [[ -n "$SASL_PASSWORD" && "$SASL_PASSWORD" != *[\"\\\;[:space:]]* ]] \
    || die "KAFKA_SASL_PLAIN: the password must be non-empty, without quotes, backslashes, ';' or spaces"
fi

# KAFKA_HOST: where clients reach the brokers. Bound to that address only (not 0.0.0.0): a broker for
# clients in a network namespace listens on the veth address, not on every address of the host.
HOST="${KAFKA_HOST:-127.0.0.1}"
[[ "$HOST" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "KAFKA_HOST must be an IPv4 address, got '$HOST'"

broker_port()     { echo $((PORT_BASE + $1)); }
controller_port() { echo $((PORT_BASE + 10000 + $1)); }
cluster_dir()     { echo "$CLUSTERS_DIR/cluster-$1"; }
broker_dir()      { echo "$CLUSTERS_DIR/cluster-$1/broker-$2"; }

port_open() { # host port -> 0 if something accepts TCP connections
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Pid of broker i of cluster n if its process is alive (and really is that broker).
broker_pid() {
  local dir pidf pid
  dir="$(broker_dir "$1" "$2")"
  pidf="$dir/pid"
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: the process must be kafka.Kafka with this config
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep "kafka.Kafka $dir/server.properties" >/dev/null || return 1
  echo "$pid"
}

# Broker ids of cluster n that are alive.
running_brokers() {
  local n=$1 i out=()
  for ((i = 1; i <= n; i++)); do
    broker_pid "$n" "$i" >/dev/null && out+=("$i")
  done
  echo "${out[*]:-}"
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

classpath() { echo "$LIB_DIR/*"; }

ensure_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH (Java 17+ required)"
}

# ---------------------------------------------------------------- install

cmd_install() {
  local hash
  hash="$(pom_hash)"
  if [[ -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$hash" ]] && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null; then
    log "jars up to date in $LIB_DIR ($(ls "$LIB_DIR" | wc -l) jars, pom $hash)"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (Maven is needed to fetch the Kafka jars)"
  mkdir -p "$STATE_DIR"
  local tmp
  tmp="$(mktemp -d "$STATE_DIR/lib.tmp.XXXXXX")"
  log "installing Kafka jars ($POM) into $LIB_DIR ..."
  local t0=$SECONDS
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >"$STATE_DIR/install.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$STATE_DIR/install.log" >&2
    die "maven dependency:copy-dependencies failed (full output: $STATE_DIR/install.log)"
  fi
  echo "$hash" >"$tmp/.installed"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  chmod 755 "$LIB_DIR"
  log "installed $(ls "$LIB_DIR" | wc -l) jars ($(du -sh "$LIB_DIR" | cut -f1)) in $((SECONDS - t0))s"
}

ensure_installed() {
  if [[ -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$(pom_hash)" ]]; then
    return 0
  fi
  cmd_install
}

# ---------------------------------------------------------------- config

write_config() { # n i
  local n=$1 i=$2 dir port cport
  dir="$(broker_dir "$n" "$i")"
  port="$(broker_port "$i")"
  cport="$(controller_port "$i")"
  mkdir -p "$dir/data"
  {
    echo "# generated by tools/kafka/kafka.sh on every start -- do not edit"
    echo "process.roles=broker,controller"
    echo "node.id=$i"
    if [[ -n "$SASL_PLAIN" ]]; then
      # One client listener, SASL_PLAINTEXT: no unauthenticated way in for clients. Brokers replicate over
      # it as the same user; the KRaft controller listener stays PLAINTEXT (no controller SASL needed).
      echo "listeners=SASL_PLAINTEXT://$HOST:$port,CONTROLLER://127.0.0.1:$cport"
      echo "advertised.listeners=SASL_PLAINTEXT://$HOST:$port,CONTROLLER://127.0.0.1:$cport"
      echo "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
      echo "inter.broker.listener.name=SASL_PLAINTEXT"
      echo "sasl.enabled.mechanisms=PLAIN"
      echo "sasl.mechanism.inter.broker.protocol=PLAIN"
      echo "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$SASL_USER\" password=\"$SASL_PASSWORD\" user_$SASL_USER=\"$SASL_PASSWORD\";"
    else
      echo "listeners=PLAINTEXT://$HOST:$port,CONTROLLER://127.0.0.1:$cport"
      echo "advertised.listeners=PLAINTEXT://$HOST:$port,CONTROLLER://127.0.0.1:$cport"
      echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
      echo "inter.broker.listener.name=PLAINTEXT"
    fi
    echo "controller.listener.names=CONTROLLER"
    if ((n == 1)); then
      echo "controller.quorum.bootstrap.servers=127.0.0.1:$cport"
    else
      local voters="" j
      for ((j = 1; j <= n; j++)); do
        voters+="${voters:+,}$j@127.0.0.1:$(controller_port "$j")"
      done
      echo "controller.quorum.voters=$voters"
    fi
    echo "log.dirs=$dir/data"
    echo "num.partitions=1"
    echo "auto.create.topics.enable=false"
    echo "group.initial.rebalance.delay.ms=0"
    if ((n == 1)); then
      echo "offsets.topic.replication.factor=1"
      echo "transaction.state.log.replication.factor=1"
      echo "transaction.state.log.min.isr=1"
      echo "share.coordinator.state.topic.replication.factor=1"
      echo "share.coordinator.state.topic.min.isr=1"
      echo "default.replication.factor=1"
    else
      echo "offsets.topic.replication.factor=3"
      echo "transaction.state.log.replication.factor=3"
      echo "transaction.state.log.min.isr=2"
      echo "share.coordinator.state.topic.replication.factor=3"
      echo "share.coordinator.state.topic.min.isr=2"
      echo "default.replication.factor=3"
    fi
  } >"$dir/server.properties"
  if [[ -n "$SASL_PLAIN" ]]; then
    # for the Kafka tools below: topics ... --command-config <this file>
    {
      echo "security.protocol=SASL_PLAINTEXT"
      echo "sasl.mechanism=PLAIN"
      echo "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$SASL_USER\" password=\"$SASL_PASSWORD\";"
    } >"$(cluster_dir "$n")/client-sasl.properties"
  fi
}

cluster_id() { # n -> prints (creating once) the cluster id shared by all brokers
  local f
  f="$(cluster_dir "$1")/cluster.id"
  if [[ ! -s "$f" ]]; then
    mkdir -p "$(dirname "$f")"
    # Kafka Uuid: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints).
    # Like Kafka's Uuid.randomUuid, never start with '-': an id such as "-t1y..." is read as an option
    # by command-line parsers (it failed `StorageTool format` once in 64 runs).
    local id
    id="-"
    while [[ "$id" == -* ]]; do
      id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    printf '%s' "$id" >"$f"
  fi
  cat "$f"
}

format_storage() { # n i
  local n=$1 i=$2 dir cid
  dir="$(broker_dir "$n" "$i")"
  if [[ -f "$dir/data/meta.properties" ]]; then
    return 0
  fi
  cid="$(cluster_id "$n")"
  local extra=()
  ((n == 1)) && extra=(--standalone)
  log "formatting broker $i storage (cluster id $cid)"
  if ! java -Xmx256m -cp "$(classpath)" \
      -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$dir" -Dkafka.log.file=format.log \
      kafka.tools.StorageTool format "${extra[@]}" --cluster-id="$cid" -c "$dir/server.properties" \
      >"$dir/format.out" 2>&1; then
    cat "$dir/format.out" >&2
    die "formatting storage of broker $i failed"
  fi
}

# ---------------------------------------------------------------- start / stop

launch_broker() { # n i
  local n=$1 i=$2 dir heap
  dir="$(broker_dir "$n" "$i")"
  if ((n == 1)); then heap="${KAFKA_HEAP:--Xmx512m -Xms256m}"; else heap="${KAFKA_HEAP:--Xmx384m}"; fi
  local port
  port="$(broker_port "$i")"
  if port_open "$HOST" "$port" || port_open 127.0.0.1 "$(controller_port "$i")"; then
    die "port $port or $(controller_port "$i") is already in use by another process (not a broker started by this script); stop it or set KAFKA_BROKERS"
  fi
  # remember where the log ends so the readiness check only looks at new lines
  stat -c %s "$dir/broker.log" 2>/dev/null >"$dir/.log-offset" || echo 0 >"$dir/.log-offset"
  # shellcheck disable=SC2086
  setsid nohup java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$dir" -Dkafka.log.file=broker.log \
    -cp "$(classpath)" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  log "started broker $i (pid $(cat "$dir/pid"), $HOST:$port, controller 127.0.0.1:$(controller_port "$i"), heap '$heap')"
}

broker_started() { # n i -> 0 once port is open and the log says started
  local n=$1 i=$2 dir off size
  dir="$(broker_dir "$n" "$i")"
  port_open "$HOST" "$(broker_port "$i")" || return 1
  [[ -f "$dir/broker.log" ]] || return 1
  off="$(cat "$dir/.log-offset" 2>/dev/null || echo 0)"
  size="$(stat -c %s "$dir/broker.log")"
  ((size < off)) && off=0 # log was rolled
  # no grep -q: it would exit at the first match and SIGPIPE tail, which pipefail reports as failure
  tail -c +"$((off + 1))" "$dir/broker.log" | grep "Kafka Server started" >/dev/null
}

wait_started() { # n ids...
  local n=$1; shift
  local deadline=$((SECONDS + START_TIMEOUT)) pending=("$@") next i dir
  while ((${#pending[@]})); do
    next=()
    for i in "${pending[@]}"; do
      if broker_started "$n" "$i"; then
        log "broker $i is up on $HOST:$(broker_port "$i")"
      elif ! kill -0 "$(cat "$(broker_dir "$n" "$i")/pid" 2>/dev/null || echo 0)" 2>/dev/null; then
        dir="$(broker_dir "$n" "$i")"
        echo "[kafka] broker $i exited during startup. stdout.log tail:" >&2
        tail -n 30 "$dir/stdout.log" >&2 || true
        echo "[kafka] broker.log tail:" >&2
        tail -n 30 "$dir/broker.log" >&2 2>/dev/null || true
        die "broker $i failed to start"
      else
        next+=("$i")
      fi
    done
    pending=("${next[@]}")
    ((${#pending[@]})) || break
    if ((SECONDS >= deadline)); then
      for i in "${pending[@]}"; do
        dir="$(broker_dir "$n" "$i")"
        echo "[kafka] broker $i not ready after ${START_TIMEOUT}s. broker.log tail:" >&2
        tail -n 40 "$dir/broker.log" >&2 2>/dev/null || true
        echo "[kafka] stdout.log tail:" >&2
        tail -n 20 "$dir/stdout.log" >&2 2>/dev/null || true
      done
      die "timed out waiting for broker(s) ${pending[*]} (logs in $(cluster_dir "$n"))"
    fi
    sleep 0.5
  done
}

stop_brokers() { # kill(0/1) n ids...
  local kill=$1 n=$2; shift 2
  local pids=() ids=() i pid
  for i in "$@"; do
    if pid="$(broker_pid "$n" "$i")"; then
      pids+=("$pid"); ids+=("$i")
    else
      rm -f "$(broker_dir "$n" "$i")/pid"
    fi
  done
  ((${#pids[@]})) || return 0
  if ((kill)); then
    log "killing (SIGKILL) cluster-$n broker(s) ${ids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
  else
    log "stopping (SIGTERM) cluster-$n broker(s) ${ids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
  fi
  local deadline=$((SECONDS + STOP_TIMEOUT)) alive
  while :; do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]})) || break
    if ((SECONDS >= deadline)); then
      log "still running after ${STOP_TIMEOUT}s, sending SIGKILL to ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.3
  done
  for i in "${ids[@]}"; do rm -f "$(broker_dir "$n" "$i")/pid"; done
  log "stopped cluster-$n broker(s) ${ids[*]}"
}

all_ids() { seq 1 "$1" | tr '\n' ' '; }

cmd_start() {
  local n=1 only=""
  while (($#)); do
    case "$1" in
      --brokers) n="${2:-}"; shift 2 ;;
      --brokers=*) n="${1#*=}"; shift ;;
      --broker) only="${2:-}"; shift 2 ;;
      --broker=*) only="${1#*=}"; shift ;;
      -h|--help) usage; return 0 ;;
      *) die "start: unknown option '$1'" ;;
    esac
  done
  [[ "$n" == 1 || "$n" == 3 ]] || die "--brokers must be 1 or 3"
  if [[ -n "$only" ]]; then
    [[ "$only" =~ ^[0-9]+$ ]] && ((only >= 1 && only <= n)) || die "--broker must be between 1 and $n"
  fi

  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    log "using external Kafka at $KAFKA_BROKERS"
    return 0
  fi

  local other=$((n == 1 ? 3 : 1)) running_other
  running_other="$(running_brokers "$other")"
  if [[ -n "$running_other" ]]; then
    log "a $other-broker cluster is running; stopping it first"
    # shellcheck disable=SC2046
    stop_brokers 0 "$other" $(all_ids "$other")
  fi

  local wanted=()
  if [[ -n "$only" ]]; then wanted=("$only"); else read -ra wanted <<<"$(all_ids "$n")"; fi

  local to_start=() i
  for i in "${wanted[@]}"; do
    broker_pid "$n" "$i" >/dev/null || to_start+=("$i")
  done
  if ((${#to_start[@]} == 0)); then
    log "already running: $n-broker cluster, broker(s) ${wanted[*]} (bootstrap $(bootstrap "$n"))"
    return 0
  fi

  ensure_java
  ensure_installed
  local t0=$SECONDS
  for i in "${to_start[@]}"; do
    write_config "$n" "$i"
    format_storage "$n" "$i"
  done
  for i in "${to_start[@]}"; do
    launch_broker "$n" "$i"
  done
  wait_started "$n" "${to_start[@]}"
  log "ready in $((SECONDS - t0))s: bootstrap.servers=$(bootstrap "$n")"
  if [[ -n "$SASL_PLAIN" ]]; then
    log "SASL_PLAINTEXT, mechanism PLAIN, user $SASL_USER (Kafka tools: --command-config $(cluster_dir "$n")/client-sasl.properties)"
  fi
}

bootstrap() {
  local n=$1 i s=""
  for ((i = 1; i <= n; i++)); do s+="${s:+,}$HOST:$(broker_port "$i")"; done
  echo "$s"
}

cmd_stop() {
  local only="" kill=0
  while (($#)); do
    case "$1" in
      --broker) only="${2:-}"; shift 2 ;;
      --broker=*) only="${1#*=}"; shift ;;
      --kill) kill=1; shift ;;
      --brokers) shift 2 ;; # accepted for symmetry; stop acts on whatever runs
      -h|--help) usage; return 0 ;;
      *) die "stop: unknown option '$1'" ;;
    esac
  done
  [[ -z "$only" || "$only" =~ ^[1-3]$ ]] || die "--broker must be 1, 2 or 3"
  local n any=0
  for n in 1 3; do
    [[ -d "$(cluster_dir "$n")" ]] || continue
    if [[ -n "$only" ]]; then
      ((only >= 1 && only <= n)) || continue
      # with --broker, prefer the cluster that actually runs that broker
      broker_pid "$n" "$only" >/dev/null || continue
      stop_brokers "$kill" "$n" "$only"; any=1
    else
      [[ -n "$(running_brokers "$n")" ]] && any=1
      # shellcheck disable=SC2046
      stop_brokers "$kill" "$n" $(all_ids "$n")
    fi
  done
  ((any)) || log "nothing running${only:+ (broker $only)}"
}

cmd_status() {
  local n i pid state port up=0 found=0 show=()
  # clusters with a live broker; if none is live, every cluster that exists
  for n in 1 3; do [[ -n "$(running_brokers "$n")" ]] && show+=("$n"); done
  if ((${#show[@]} == 0)); then
    for n in 1 3; do [[ -d "$(cluster_dir "$n")" ]] && show+=("$n"); done
  fi
  for n in "${show[@]}"; do
    found=1
    for ((i = 1; i <= n; i++)); do
      port="$(broker_port "$i")"
      if pid="$(broker_pid "$n" "$i")"; then
        if port_open "$HOST" "$port"; then state=up; up=1; else state=starting; fi
      else
        pid="-"; state=down
      fi
      printf 'cluster-%s broker %s  port %s  controller %s  pid %-8s %s\n' \
        "$n" "$i" "$port" "$(controller_port "$i")" "$pid" "$state"
    done
  done
  ((found)) || echo "no local Kafka cluster (run: $0 start)"
  ((up)) && return 0
  return 3
}

cmd_reset() {
  cmd_stop
  local d
  for d in "$CLUSTERS_DIR"/cluster-*; do
    [[ -e "$d" ]] || continue
    log "deleting $d"
    rm -rf "$d"
  done
  log "reset done (jars kept in $LIB_DIR)"
}

run_tool() { # class args...
  ensure_java
  ensure_installed >&2
  local cls=$1; shift
  mkdir -p "$STATE_DIR"
  exec java ${KAFKA_TOOL_HEAP:--Xmx512m} -cp "$(classpath)" \
    -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$STATE_DIR" -Dkafka.log.file=tools.log \
    "$cls" "$@"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    reset) cmd_reset "$@" ;;
    perf-producer) run_tool org.apache.kafka.tools.ProducerPerformance "$@" ;;
    perf-consumer) run_tool org.apache.kafka.tools.ConsumerPerformance "$@" ;;
    topics) run_tool org.apache.kafka.tools.TopicCommand "$@" ;;
    run) (($#)) || die "run: missing main class"; run_tool "$@" ;;
    ""|-h|--help|help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
