// The figures of one pipeline run, and the rows of the printed table.

/** Figures of one pipeline run (snake_case: they go into the JSON line as they are). */
export interface RunFigures {
  variant: string;
  run: number;
  ratings: number;
  e2e_seconds: number;
  e2e_ratings_per_s: number;
  producer_per_s: number;
  processor_per_s: number;
  sink_per_s: number;
  mean_rating_messages: number;
  ratings_per_mean_rating: number;
  db_transactions_per_s: number;
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
}

export const FIGURES: { key: keyof RunFigures; label: string }[] = [
  { key: 'e2e_seconds', label: 'end to end (s)' },
  { key: 'e2e_ratings_per_s', label: 'end to end (ratings/s)' },
  { key: 'producer_per_s', label: 'rating-producer (msgs/s)' },
  { key: 'processor_per_s', label: 'processor (ratings/s)' },
  { key: 'sink_per_s', label: 'sink (mean-rating msgs/s)' },
  { key: 'ratings_per_mean_rating', label: 'ratings per MeanRating msg' },
  { key: 'db_transactions_per_s', label: 'database transactions/s' },
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
  { key: 'movie_producer_cpu_s_per_1m', label: 'movie-producer CPU per 1M ratings (s)' },
  { key: 'services_cpu_s_per_1m', label: 'all services CPU per 1M ratings (s)' },
  { key: 'producer_peak_rss_mb', label: 'rating-producer peak RSS (MB)' },
  { key: 'processor_peak_rss_mb', label: 'processor peak RSS (MB)' },
  { key: 'sink_peak_rss_mb', label: 'sink peak RSS (MB)' },
  { key: 'ratings_topic_mb', label: 'ratings topic on the broker (MB)' },
  { key: 'mean_ratings_topic_mb', label: 'mean-ratings topic on the broker (MB)' },
  { key: 'snapshot_max_block_ms', label: 'processor snapshot max block (ms)' },
  { key: 'sink_snapshot_max_block_ms', label: 'sink snapshot max block (ms)' },
  { key: 'correct', label: 'correct' },
];
