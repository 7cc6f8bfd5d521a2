// The figures of one pipeline run, and the rows of the printed table.
import type { ApiLoadFigures } from './api-load';

/** Figures of one pipeline run (snake_case: they go into the JSON line as they are). */
export interface RunFigures {
  variant: string;
  run: number;
  /** Instances of the processor and the sink in this run. */
  processors: number;
  sinks: number;
  ratings: number;
  e2e_seconds: number;
  e2e_ratings_per_s: number;
  producer_per_s: number;
  processor_per_s: number;
  sink_per_s: number;
  mean_rating_messages: number;
  ratings_per_mean_rating: number;
  db_transactions_per_s: number;
  /** The processor's Kafka transactions (one per batch and partition today) per second of the run, and ratings in each. */
  kafka_transactions_per_s: number;
  ratings_per_kafka_transaction: number;
  api_freshness_p50_ms: number;
  api_freshness_p99_ms: number;
  api_freshness_samples: number;
  kafka_producer_perf_per_s: number;
  kafka_consumer_perf_per_s: number;
  /** End-to-end ratings/s ÷ ProducerPerformance's records/s on the same broker (issue 14's yardstick). */
  e2e_vs_kafka: number;
  producer_vs_kafka: number;
  processor_vs_kafka: number;
  sink_vs_kafka: number;
  producer_cpu_s: number;
  processor_cpu_s: number;
  sink_cpu_s: number;
  movie_producer_cpu_s: number;
  /** CPU-seconds per 1,000,000 ratings, per service (all instances) and for all services together. */
  producer_cpu_s_per_1m: number;
  processor_cpu_s_per_1m: number;
  sink_cpu_s_per_1m: number;
  /** CPU from the producers' start to the drain only (start-up and stop of each instance left out). */
  processor_run_cpu_s_per_1m: number;
  sink_run_cpu_s_per_1m: number;
  movie_producer_cpu_s_per_1m: number;
  services_cpu_s_per_1m: number;
  producer_peak_rss_mb: number;
  processor_peak_rss_mb: number;
  sink_peak_rss_mb: number;
  /** Bytes (10^6) the topic holds on the brokers after the run, one copy of each partition. */
  ratings_topic_mb: number;
  mean_ratings_topic_mb: number;
  snapshot_max_block_ms: number;
  sink_snapshot_max_block_ms: number;
  processor_snapshots: number;
  /** Where processor/sink rates came from: the meta topics, or /metrics samples when those were incomplete. */
  rate_source: string;
  correct: boolean;
  /** --cpu-per-instance: the CPU share of each consumer instance's cgroup. */
  cpu_per_instance?: number;
  /** With it: of the CFS periods in which the app's instances wanted CPU, the % in which they hit the cap (cpu.stat). */
  processor_throttled_pct?: number;
  sink_throttled_pct?: number;
  /**
   * --processors with several counts: end-to-end ratings/s ÷ the first count's, and processor CPU per rating
   * relative to the first count's in % (same run, same API clients).
   */
  throughput_x?: number;
  processor_cpu_per_rating_pct?: number;
  /**
   * --rolling-restart: restarts done (every processor and sink instance once); staleness of open-loop probes (one
   * every 100 ms from the producers' start until the last restarted instance claimed: publish → counted by
   * GET /api/movies/:id); probes still not visible after 120 s; the longest SIGTERM → claimed of a restart.
   */
  rolling_restarts?: number;
  rolling_restart_staleness_p50_ms?: number;
  rolling_restart_staleness_p99_ms?: number;
  rolling_restart_staleness_max_ms?: number;
  rolling_restart_samples?: number;
  rolling_restart_probes_unresolved?: number;
  rolling_restart_max_claim_ms?: number;
  /**
   * The longest time a partition was behind (lag > 0) while its group's committed offset did not move (admin API
   * polled every 100 ms, producers' start to the drain): over both groups, and per group. Commits follow the
   * snapshots (1 s in the bench), so ~1 s is the floor without any restart.
   */
  rolling_restart_pause_ms?: number;
  rolling_restart_processor_pause_ms?: number;
  rolling_restart_sink_pause_ms?: number;
  /** Ratings the processors consumed beyond the data set and the probes (consumed again after a handover); NaN without complete meta reports. */
  rolling_restart_reconsumed?: number;
  /** With API clients (--api-clients): what they saw, and the pipeline's throughput under them (a table of its own). */
  api_load?: ApiLoadFigures;
}

export const FIGURES: { key: keyof RunFigures; label: string }[] = [
  { key: 'e2e_seconds', label: 'end to end (s)' },
  { key: 'e2e_ratings_per_s', label: 'end to end (ratings/s)' },
  { key: 'producer_per_s', label: 'rating-producer (msgs/s)' },
  { key: 'processor_per_s', label: 'processor (ratings/s)' },
  { key: 'sink_per_s', label: 'sink (mean-rating msgs/s)' },
  { key: 'ratings_per_mean_rating', label: 'ratings per MeanRating msg' },
  { key: 'db_transactions_per_s', label: 'database transactions/s' },
  { key: 'kafka_transactions_per_s', label: 'processor Kafka transactions/s' },
  { key: 'ratings_per_kafka_transaction', label: 'ratings per Kafka transaction' },
  { key: 'api_freshness_p50_ms', label: 'API freshness p50 (ms)' },
  { key: 'api_freshness_p99_ms', label: 'API freshness p99 (ms)' },
  { key: 'kafka_producer_perf_per_s', label: 'Kafka ProducerPerformance (msgs/s)' },
  { key: 'kafka_consumer_perf_per_s', label: 'Kafka ConsumerPerformance (msgs/s)' },
  { key: 'e2e_vs_kafka', label: 'end to end ÷ ProducerPerformance' },
  { key: 'producer_vs_kafka', label: 'producer ÷ ProducerPerformance' },
  { key: 'processor_vs_kafka', label: 'processor ÷ ConsumerPerformance' },
  { key: 'sink_vs_kafka', label: 'sink ÷ ConsumerPerformance' },
  { key: 'producer_cpu_s', label: 'rating-producer CPU (s)' },
  { key: 'processor_cpu_s', label: 'processor CPU (s)' },
  { key: 'sink_cpu_s', label: 'sink CPU (s)' },
  { key: 'producer_cpu_s_per_1m', label: 'rating-producer CPU per 1M ratings (s)' },
  { key: 'processor_cpu_s_per_1m', label: 'processor CPU per 1M ratings (s)' },
  { key: 'sink_cpu_s_per_1m', label: 'sink CPU per 1M ratings (s)' },
  { key: 'processor_run_cpu_s_per_1m', label: 'processor CPU per 1M, data flowing (s)' },
  { key: 'sink_run_cpu_s_per_1m', label: 'sink CPU per 1M, data flowing (s)' },
  { key: 'movie_producer_cpu_s_per_1m', label: 'movie-producer CPU per 1M ratings (s)' },
  { key: 'services_cpu_s_per_1m', label: 'all services CPU per 1M ratings (s)' },
  { key: 'producer_peak_rss_mb', label: 'rating-producer peak RSS (MB)' },
  { key: 'processor_peak_rss_mb', label: 'processor peak RSS (MB)' },
  { key: 'sink_peak_rss_mb', label: 'sink peak RSS (MB)' },
  { key: 'ratings_topic_mb', label: 'ratings topic on the broker (MB)' },
  { key: 'mean_ratings_topic_mb', label: 'mean-ratings topic on the broker (MB)' },
  { key: 'snapshot_max_block_ms', label: 'processor snapshot max block (ms)' },
  { key: 'sink_snapshot_max_block_ms', label: 'sink snapshot max block (ms)' },
  { key: 'processor_throttled_pct', label: 'processor periods at the CPU cap (%)' },
  { key: 'sink_throttled_pct', label: 'sink periods at the CPU cap (%)' },
  { key: 'rolling_restarts', label: 'rolling restarts' },
  { key: 'rolling_restart_staleness_p50_ms', label: 'staleness during restarts p50 (ms)' },
  { key: 'rolling_restart_staleness_p99_ms', label: 'staleness during restarts p99 (ms)' },
  { key: 'rolling_restart_staleness_max_ms', label: 'staleness during restarts max (ms)' },
  { key: 'rolling_restart_samples', label: 'staleness samples during restarts' },
  { key: 'rolling_restart_probes_unresolved', label: 'probes never visible (120 s)' },
  { key: 'rolling_restart_max_claim_ms', label: 'longest restart, SIGTERM to claimed (ms)' },
  { key: 'rolling_restart_pause_ms', label: 'longest partition pause (ms)' },
  { key: 'rolling_restart_processor_pause_ms', label: 'longest partition pause, processor (ms)' },
  { key: 'rolling_restart_sink_pause_ms', label: 'longest partition pause, sink (ms)' },
  { key: 'rolling_restart_reconsumed', label: 'ratings consumed again after handovers' },
  { key: 'correct', label: 'correct' },
];
