import { hostname } from 'node:os';

// Every setting of every service, in one place: the README's configuration table is generated from this
// list (`npm run docs:config`) and a test fails when the two disagree.

export type OptionType = 'string' | 'int' | 'bool' | 'list';

export interface OptionSpec {
  /** Environment variable, e.g. KAFKA_BROKERS. */
  env: string;
  /** Command-line flag without dashes, e.g. "brokers"; none for a setting read before the config is (environment only). */
  flag?: string;
  type: OptionType;
  /** Default as the string a user would type; undefined = unset. */
  default?: string;
  description: string;
  /** Never logged or printed (passwords). */
  secret?: boolean;
}

export const OPTIONS = {
  brokers: {
    env: 'KAFKA_BROKERS',
    flag: 'brokers',
    type: 'list',
    default: '127.0.0.1:9092',
    description: 'Kafka bootstrap servers, comma-separated.',
  },
  kafkaSsl: {
    env: 'KAFKA_SSL',
    flag: 'kafka-ssl',
    type: 'bool',
    default: 'false',
    description: 'Connect to Kafka over TLS (system CA store).',
  },
  kafkaSaslMechanism: {
    env: 'KAFKA_SASL_MECHANISM',
    flag: 'kafka-sasl-mechanism',
    type: 'string',
    description: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512. Unset = no SASL.',
  },
  kafkaSaslUsername: {
    env: 'KAFKA_SASL_USERNAME',
    flag: 'kafka-sasl-username',
    type: 'string',
    description: 'SASL user name.',
  },
  kafkaSaslPassword: {
    env: 'KAFKA_SASL_PASSWORD',
    flag: 'kafka-sasl-password',
    type: 'string',
    secret: true,
    description:
      'SASL password (never logged). Set it in the environment or use KAFKA_SASL_PASSWORD_FILE: the flag is visible to every user in `ps`.',
  },
  kafkaSaslPasswordFile: {
    env: 'KAFKA_SASL_PASSWORD_FILE',
    flag: 'kafka-sasl-password-file',
    type: 'string',
    description: 'File holding the SASL password (one trailing newline is trimmed); instead of KAFKA_SASL_PASSWORD.',
  },
  instanceId: {
    env: 'INSTANCE_ID',
    flag: 'instance-id',
    type: 'string',
    default: `${hostname()}-${process.pid}`,
    description: 'Identifies this process in meta reports and as the Kafka client id suffix. Default: <hostname>-<pid>.',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: 'log-level',
    type: 'string',
    default: 'info',
    description: 'error, warn, info, debug.',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    flag: 'log-format',
    type: 'string',
    default: 'auto',
    description: 'json, text, or auto (text on a terminal, JSON otherwise).',
  },
  topicRatings: {
    env: 'TOPIC_RATINGS',
    flag: 'topic-ratings',
    type: 'string',
    default: 'ratings',
    description: 'Topic of Rating messages.',
  },
  topicMovies: {
    env: 'TOPIC_MOVIES',
    flag: 'topic-movies',
    type: 'string',
    default: 'movies',
    description: 'Topic of Movie messages (compacted).',
  },
  topicMeanRatings: {
    env: 'TOPIC_MEAN_RATINGS',
    flag: 'topic-mean-ratings',
    type: 'string',
    default: 'mean-ratings',
    description: 'Topic of MeanRating messages (compacted).',
  },
  topicMetaPrefix: {
    env: 'TOPIC_META_PREFIX',
    flag: 'topic-meta-prefix',
    type: 'string',
    default: 'meta',
    description: 'Meta topics are <prefix>.published and <prefix>.consumed.',
  },
  ratingsPartitions: {
    env: 'RATINGS_PARTITIONS',
    flag: 'ratings-partitions',
    type: 'int',
    default: '6',
    description:
      'Partitions of ratings, movies and mean-ratings when they are created (all three the same: co-partitioned by movie id). The most processor or sink instances that can share the work.',
  },
  ratingsRetentionMs: {
    env: 'RATINGS_RETENTION_MS',
    flag: 'ratings-retention-ms',
    type: 'int',
    default: '-1',
    description:
      'retention.ms of the ratings topic when it is created; -1 keeps every rating, so a state can always be rebuilt (--reset-state, a processor without a changelog).',
  },
  replicationFactor: {
    env: 'TOPIC_REPLICATION_FACTOR',
    flag: 'replication-factor',
    type: 'int',
    default: '0',
    description: 'Replication factor of created topics; 0 = min(3, brokers in the cluster).',
  },
  metaWindowMs: {
    env: 'META_WINDOW_MS',
    flag: 'meta-window-ms',
    type: 'int',
    default: '1000',
    description: 'Length of one meta-report window: one report per service, topic and window.',
  },
  httpHost: {
    env: 'HTTP_HOST',
    flag: 'http-host',
    type: 'string',
    default: '127.0.0.1',
    description: 'Address of the /metrics and /healthz endpoint (0.0.0.0 to expose it, e.g. in a container).',
  },
  httpPort: {
    env: 'HTTP_PORT',
    flag: 'http-port',
    type: 'int',
    default: '0',
    description: 'Port of the /metrics and /healthz endpoint; 0 = any free port (logged), -1 = none.',
  },
  stopTimeoutMs: {
    env: 'STOP_TIMEOUT_MS',
    flag: 'stop-timeout-ms',
    type: 'int',
    default: '10000',
    description:
      'Deadline of a graceful stop (SIGTERM/SIGINT): past it the process exits 1, logging what it still waited for (unreachable brokers). npm start: the same deadline for closing after its summary.',
  },
  ratingsFile: {
    env: 'RATINGS_FILE',
    flag: 'ratings',
    type: 'string',
    default: 'data/sample/ratings.csv',
    description: 'ratings.csv to publish (MovieLens format).',
  },
  sourceId: {
    env: 'SOURCE_ID',
    flag: 'source-id',
    type: 'string',
    description:
      'rating-producer: names its input, so that re-running the same command after a crash publishes only the ratings still missing. Default: file name, size and a hash of the first 64 KiB. Another name publishes the file again.',
  },
  moviesFile: {
    env: 'MOVIES_FILE',
    flag: 'movies',
    type: 'string',
    default: 'data/sample/movies.csv',
    description: 'movies.csv to publish (MovieLens format).',
  },
  outDir: {
    env: 'OUT_DIR',
    flag: 'out',
    type: 'string',
    default: 'data/out',
    description: 'Where snapshots (mean-ratings.csv, movie-data.csv) and rejected-row files go.',
  },
  sharedOutDir: {
    env: 'SHARED_OUT_DIR',
    flag: 'shared-out',
    type: 'string',
    description:
      "Several instances of a service: a directory all of them can write (a shared volume). Give each OUT_DIR=<it>/instances/<service>-<n>; after every snapshot an instance writes <it>/mean-ratings.csv (movie-data.csv) merged from all instances' states, each partition from the instance furthest in it. Unset = no merged file.",
  },
  stateDir: {
    env: 'STATE_DIR',
    flag: 'state-dir',
    type: 'string',
    description: 'Where a service keeps its snapshot generations. Default: <out>/.state/<service>.',
  },
  resetState: {
    env: 'RESET_STATE',
    flag: 'reset-state',
    type: 'bool',
    default: 'false',
    description:
      "Delete the consumer's saved state and output file and rebuild them from the start of its topics (after a topic was deleted and recreated). Unset it afterwards: every start with it rebuilds.",
  },
  snapshotIntervalMs: {
    env: 'SNAPSHOT_INTERVAL_MS',
    flag: 'snapshot-interval-ms',
    type: 'int',
    default: '5000',
    description: 'How often a consumer snapshots its table (and then commits its offsets).',
  },
  snapshotWorkerHeapMb: {
    env: 'SNAPSHOT_WORKER_HEAP_MB',
    flag: 'snapshot-worker-heap-mb',
    type: 'int',
    default: '64',
    description:
      "Heap bound (MB, V8's old generation) of the thread that writes a consumer's snapshots; doubled for the next write when one needs more (logged). Without a bound V8 lets that heap grow towards the machine's memory.",
  },
  groupId: {
    env: 'GROUP_ID',
    flag: 'group-id',
    type: 'string',
    description: 'Consumer group id. Default: movie-stream.<service>.',
  },
  sessionTimeoutMs: {
    env: 'SESSION_TIMEOUT_MS',
    flag: 'session-timeout-ms',
    type: 'int',
    default: '10000',
    description: 'Consumer session timeout: how long a crashed member holds its partitions.',
  },
  groupInstanceId: {
    env: 'GROUP_INSTANCE_ID',
    flag: 'group-instance-id',
    type: 'string',
    description:
      "Static group membership (Kafka's group.instance.id): unique in the group and the same across this instance's restarts (e.g. a pod's name). A stop then does not leave the group, and a restart within SESSION_TIMEOUT_MS gets the same partitions back with no rebalance; an instance that does not come back holds its partitions until SESSION_TIMEOUT_MS. Unset: a dynamic member.",
  },
  heartbeatIntervalMs: {
    env: 'HEARTBEAT_INTERVAL_MS',
    flag: 'heartbeat-interval-ms',
    type: 'int',
    default: '2000',
    description:
      'How often a consumer heartbeats to its group, also while a batch waits: how soon it sees a rebalance (a member leaving or joining). At most a third of SESSION_TIMEOUT_MS.',
  },
  retryTimeoutMs: {
    env: 'RETRY_TIMEOUT_MS',
    flag: 'retry-timeout-ms',
    type: 'int',
    default: '300000',
    description:
      "Consumer: how long one partition's batches may keep failing with errors that look transient (a broker or database away) before the service fails with the last one. Errors no retry can cure fail it at once.",
  },
  fetchMaxBytesPerPartition: {
    env: 'FETCH_MAX_BYTES_PER_PARTITION',
    flag: 'fetch-max-bytes-per-partition',
    type: 'int',
    default: '4194304',
    description: 'Consumer: most record bytes one fetch returns per partition.',
  },
  fetchMaxBytes: {
    env: 'FETCH_MAX_BYTES',
    flag: 'fetch-max-bytes',
    type: 'int',
    default: '33554432',
    description:
      "Consumer: most record bytes one fetch returns in all, and so the bound on record bytes fetched ahead of the handler (the next fetch goes out once every batch of this one was handled; a partition's records are made only while its batch is handled).",
  },
  fetchMinBytes: {
    env: 'FETCH_MIN_BYTES',
    flag: 'fetch-min-bytes',
    type: 'int',
    default: '1',
    description:
      'Consumer: the broker holds a fetch until this many bytes are there (or FETCH_MAX_WAIT_MS passed). Larger = larger batches.',
  },
  fetchMaxWaitMs: {
    env: 'FETCH_MAX_WAIT_MS',
    flag: 'fetch-max-wait-ms',
    type: 'int',
    default: '500',
    description: 'Consumer: longest the broker holds a fetch; a graceful stop waits for the fetch in flight.',
  },
  batchSize: {
    env: 'PUBLISH_BATCH_SIZE',
    flag: 'batch-size',
    type: 'int',
    default: '10000',
    description: 'Rows per producer send.',
  },
  maxRate: {
    env: 'PUBLISH_MAX_RATE',
    flag: 'max-rate',
    type: 'int',
    default: '0',
    description:
      'Producers: most rows published per second (paced in slices of 50 ms), to replay a file as a live stream; 0 = as fast as the brokers take them.',
  },
  maxInFlight: {
    env: 'PUBLISH_MAX_IN_FLIGHT',
    flag: 'max-in-flight',
    type: 'int',
    default: '4',
    description: 'Producer sends awaited concurrently (ratings need no order within a movie).',
  },
  compression: {
    env: 'KAFKA_COMPRESSION',
    flag: 'compression',
    type: 'string',
    default: 'none',
    description:
      "Compression of every service's producers (the processor's changelog writes too): none, gzip or lz4 (LZ4 frames by the native lz4-napi, shipped beside each app bundle; lz4 with KAFKA_CLIENT=kafkajs only). Consumers read lz4 batches whoever wrote them.",
  },
  acks: {
    env: 'KAFKA_ACKS',
    flag: 'acks',
    type: 'int',
    default: '-1',
    description: 'Producer acks: -1 (all in-sync replicas), 1 (leader) or 0.',
  },
  idempotent: {
    env: 'KAFKA_IDEMPOTENT',
    flag: 'idempotent',
    type: 'bool',
    default: 'true',
    description: 'Idempotent producer: the broker drops a batch that a retry sends twice (needs acks -1; one send in flight).',
  },
  nodeOptions: {
    env: 'NODE_OPTIONS',
    type: 'string',
    default: '--max-old-space-size=2000 --max-semi-space-size=16',
    description:
      "Environment only: Node's options for every service `npm start` (and the bench and tests) starts; a value of your own replaces this default whole (the images leave it unset: there Node sizes the heap from the container's limit). Why this default: with a heap bound of 2048 MB or more (Node's own choice on a machine with more than ~16 GB) V8 lets the heap grow to 4× the live data before a full collection, below it to at most 2×: at 10M ratings and 60,000 movies 230 MB peak RSS instead of 265–285 MB, at no CPU cost (docs/PERFORMANCE.md, round 8). A service whose live data passes the bound ends out of memory.",
  },
  kafkajsEagerFetch: {
    env: 'KAFKAJS_EAGER_FETCH',
    type: 'bool',
    default: 'false',
    description:
      'Environment only, read when KafkaJS loads: consumers decode each fetch response whole and up front, as KafkaJS itself does, instead of per partition when its batch is handled (more memory under a backlog); to measure the two side by side (`npm run bench -- --variant eager:KAFKAJS_EAGER_FETCH=true`).',
  },
  kafkaClient: {
    env: 'KAFKA_CLIENT',
    flag: 'kafka-client',
    type: 'string',
    default: 'kafkajs',
    description:
      'Kafka client of the CSV producers: kafkajs or platformatic (@platformatic/kafka, measured as an alternative). Same partitions per key either way. Consumers and the processor always use KafkaJS.',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: 'database-url',
    type: 'string',
    secret: true,
    description:
      'PostgreSQL connection string (postgres://user@host:5432/db) of the database modes; unset = none. Masked in logs: it may hold a password.',
  },
  databasePasswordFile: {
    env: 'DATABASE_PASSWORD_FILE',
    flag: 'database-password-file',
    type: 'string',
    description:
      "File holding the password of DATABASE_URL's user (one trailing newline is trimmed), added to DATABASE_URL, which must not hold one then: keeps the password out of the environment and `ps`. Unset = none.",
  },
  databasePoolSize: {
    env: 'DATABASE_POOL_SIZE',
    flag: 'database-pool-size',
    type: 'int',
    default: '10',
    description: 'Most PostgreSQL connections a service opens (batches and API queries share them).',
  },
  sinkStore: {
    env: 'SINK_STORE',
    flag: 'sink',
    type: 'string',
    default: 'csv',
    description:
      'movie-data-sink: csv (movie-data.csv from its snapshots) or postgres (the movie_data table at DATABASE_URL, written with its offsets in one transaction).',
  },
  apiAdvertisedUrl: {
    env: 'API_ADVERTISED_URL',
    flag: 'api-advertised-url',
    type: 'string',
    description:
      "movie-data-sink: the base URL at which the other sink instances reach this one's API (advertised in the consumer group); default http://<HTTP_HOST, or the host name when it is 0.0.0.0>:<the port it listens on>.",
  },
  apiForwardTimeoutMs: {
    env: 'API_FORWARD_TIMEOUT_MS',
    flag: 'api-forward-timeout-ms',
    type: 'int',
    default: '2000',
    description:
      "movie-data-sink: longest wait for another sink instance's answer to a forwarded query (a movie of its partitions, its share of a top-N); past it the answer is 503.",
  },
  apiMaxConcurrentRequests: {
    env: 'API_MAX_CONCURRENT_REQUESTS',
    flag: 'api-max-concurrent-requests',
    type: 'int',
    default: '64',
    description:
      'movie-data-sink: most /api/movies requests in progress at once; more get 503 with Retry-After. /metrics, /healthz and event streams are not counted.',
  },
  apiPushIntervalMs: {
    env: 'API_PUSH_INTERVAL_MS',
    flag: 'api-push-interval-ms',
    type: 'int',
    default: '250',
    description:
      'movie-data-sink: a top-N event stream (/api/movies/top/events) is re-evaluated at most once per this (ms); streams whose answers include other instances are also re-evaluated this often.',
  },
  apiPushMaxClients: {
    env: 'API_PUSH_MAX_CLIENTS',
    flag: 'api-push-max-clients',
    type: 'int',
    default: '100',
    description: 'movie-data-sink: most /api/movies event streams (server-sent events) served at once; more get 503.',
  },
  apiPushClientBufferBytes: {
    env: 'API_PUSH_CLIENT_BUFFER_BYTES',
    flag: 'api-push-client-buffer-bytes',
    type: 'int',
    default: '1048576',
    description:
      'movie-data-sink: an /api/movies event stream that has not taken this many bytes of updates is disconnected (a client that stopped reading).',
  },
  coalesceMaxMs: {
    env: 'COALESCE_MAX_MS',
    flag: 'coalesce-max-ms',
    type: 'int',
    default: '0',
    description:
      'mean-rating-processor: holds consecutive batches of a partition up to this long (ms) and publishes one update per movie for all of them: fewer mean-ratings messages, but each rating reaches the output up to this much later (e.g. 250). 0 = off: one update per movie and batch.',
  },
  coalesceMaxRatings: {
    env: 'COALESCE_MAX_RATINGS',
    flag: 'coalesce-max-ratings',
    type: 'int',
    default: '50000',
    description:
      'mean-rating-processor, with COALESCE_MAX_MS: most ratings of a partition held; reaching it publishes them at once. 0 = no limit (COALESCE_MAX_MS alone).',
  },
  processorState: {
    env: 'PROCESSOR_STATE',
    flag: 'state',
    type: 'string',
    default: 'file',
    description:
      'mean-rating-processor: file (per-partition state in snapshots, mean-ratings as changelog) or postgres (sums and counts in the database at DATABASE_URL, updated with the offsets in one transaction).',
  },
  dashboardHost: {
    env: 'DASHBOARD_HOST',
    flag: 'dashboard-host',
    type: 'string',
    default: '127.0.0.1',
    description: "Address of the monitor's dashboard, JSON API, /metrics and /healthz (0.0.0.0 to expose it).",
  },
  dashboardPort: {
    env: 'DASHBOARD_PORT',
    flag: 'dashboard-port',
    type: 'int',
    default: '8080',
    description: "Port of the monitor's dashboard; 0 = any free port (logged).",
  },
  dashboardMaxClients: {
    env: 'DASHBOARD_MAX_CLIENTS',
    flag: 'dashboard-max-clients',
    type: 'int',
    default: '100',
    description: 'Most dashboard pages (server-sent-event streams) served at once; more get 503.',
  },
  dashboardClientBufferBytes: {
    env: 'DASHBOARD_CLIENT_BUFFER_BYTES',
    flag: 'dashboard-client-buffer-bytes',
    type: 'int',
    default: '4194304',
    description: 'A dashboard page that has not taken this many bytes of updates is disconnected (a client that stopped reading).',
  },
  lagPollMs: {
    env: 'LAG_POLL_MS',
    flag: 'lag-poll-ms',
    type: 'int',
    default: '2000',
    description: 'How often the monitor polls consumer-group offsets, topic sizes and brokers.',
  },
  monitorScope: {
    env: 'MONITOR_SCOPE',
    flag: 'monitor-scope',
    type: 'string',
    description: 'The monitor shows only consumer groups and topics whose names start with this. Unset = all.',
  },
  monitorHistoryMinutes: {
    env: 'MONITOR_HISTORY_MINUTES',
    flag: 'monitor-history-minutes',
    type: 'int',
    default: '30',
    description: 'Minutes of meta reports the monitor reads at start and keeps (older seconds are dropped).',
  },
  monitorApiUpstreams: {
    env: 'MONITOR_API_UPSTREAMS',
    flag: 'monitor-api-upstreams',
    type: 'list',
    description:
      "Base URLs of the sinks' HTTP APIs, comma-separated (e.g. http://movie-data-sink:8080,http://movie-data-sink-2:8080): the monitor then answers /api/movies and everything under /api/movies/ by forwarding to them in turn (the next one on a connection error or a 503), event streams included. Unset = no forwarding (404).",
  },
  monitorApiTimeoutMs: {
    env: 'MONITOR_API_TIMEOUT_MS',
    flag: 'monitor-api-timeout-ms',
    type: 'int',
    default: '10000',
    description:
      'Most time a request the monitor forwards (MONITOR_API_UPSTREAMS) may take to get its answer (its whole body, unless an event stream): then 504 (or the answer is cut off).',
  },
  monitorApiMaxRequests: {
    env: 'MONITOR_API_MAX_REQUESTS',
    flag: 'monitor-api-max-requests',
    type: 'int',
    default: '256',
    description: 'Most requests the monitor forwards at once (MONITOR_API_UPSTREAMS), event streams included; more get 503.',
  },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** The options of a Kafka connection: every program that talks to Kafka reads all of them. */
export const KAFKA_OPTIONS = [
  'brokers',
  'kafkaSsl',
  'kafkaSaslMechanism',
  'kafkaSaslUsername',
  'kafkaSaslPassword',
  'kafkaSaslPasswordFile',
] as const satisfies readonly OptionName[];

/** The options of a PostgreSQL connection (libs/movie-db's connectDatabase). */
export const DATABASE_OPTIONS = ['databaseUrl', 'databasePasswordFile', 'databasePoolSize'] as const satisfies readonly OptionName[];

/** The movie API's settings (the sink serves it; libs/movie-api's MovieApiOptions). */
export const MOVIE_API_OPTIONS = [
  'apiAdvertisedUrl',
  'apiForwardTimeoutMs',
  'apiMaxConcurrentRequests',
  'apiPushIntervalMs',
  'apiPushMaxClients',
  'apiPushClientBufferBytes',
] as const satisfies readonly OptionName[];
