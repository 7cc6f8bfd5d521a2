import type { Admin, ITopicConfig } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { deadLetterTopic } from './dead-letter';

export interface TopicNames {
  ratings: string;
  movies: string;
  meanRatings: string;
  metaPublished: string;
  metaConsumed: string;
}

export function topicNames(c: {
  topicRatings: string;
  topicMovies: string;
  topicMeanRatings: string;
  topicMetaPrefix: string;
}): TopicNames {
  return {
    ratings: c.topicRatings,
    movies: c.topicMovies,
    meanRatings: c.topicMeanRatings,
    metaPublished: `${c.topicMetaPrefix}.published`,
    metaConsumed: `${c.topicMetaPrefix}.consumed`,
  };
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Latest value per key is all that matters (movies, mean ratings). */
  compacted?: boolean;
  /** -1 = keep forever. */
  retentionMs?: number;
}

/**
 * Compacted topics roll their active segment after this long: the active segment is never compacted, so
 * without it a changelog read on restore would grow with the whole run instead of the number of movies.
 */
export const COMPACTED_SEGMENT_MS = 10 * 60 * 1000;

/**
 * The pipeline's topics. ratings, movies and mean-ratings are co-partitioned (same count, all keyed by
 * movie id with the same partitioner), so movie m lives in partition p of all three and an instance that
 * owns p owns all of m. mean-ratings is the processor's changelog and movies the sink's, so both are
 * compacted; ratings is kept as long as `ratingsRetentionMs` says (-1: forever, so state can always be
 * rebuilt from the start).
 */
export function pipelineTopics(names: TopicNames, partitions: number, ratingsRetentionMs = -1): TopicSpec[] {
  return [
    { name: names.ratings, partitions, retentionMs: ratingsRetentionMs },
    { name: names.movies, partitions, compacted: true },
    { name: names.meanRatings, partitions, compacted: true },
    { name: names.metaPublished, partitions: 1, retentionMs: 7 * 24 * 3600 * 1000 },
    { name: names.metaConsumed, partitions: 1, retentionMs: 7 * 24 * 3600 * 1000 },
    ...[names.ratings, names.movies, names.meanRatings].map((t) => ({ name: deadLetterTopic(t), partitions: 1 })),
  ];
}

/**
 * Creates the topics that do not exist yet; existing ones are left alone (idempotent).
 * replicationFactor 0 = min(3, brokers in the cluster); min.insync.replicas follows it (RF-1, at least 1).
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], replicationFactor: number, logger: Logger): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length === 0) return [];
  const rf = replicationFactor > 0 ? replicationFactor : Math.min(3, (await admin.describeCluster()).brokers.length);
  const topics: ITopicConfig[] = missing.map((s) => {
    const configEntries = [{ name: 'min.insync.replicas', value: String(Math.max(1, rf - 1)) }];
    // compact,delete with no time or size limit is compaction alone, except that it allows DeleteRecords,
    // which `--reset-state` needs to empty a changelog (Kafka refuses it on a topic that is compact only).
    if (s.compacted)
      configEntries.push(
        { name: 'cleanup.policy', value: 'compact,delete' },
        { name: 'retention.ms', value: '-1' },
        { name: 'segment.ms', value: String(COMPACTED_SEGMENT_MS) },
      );
    if (s.retentionMs) configEntries.push({ name: 'retention.ms', value: String(s.retentionMs) });
    return { topic: s.name, numPartitions: s.partitions, replicationFactor: rf, configEntries };
  });
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (e) {
    // Another process may have created them in between: fine as long as they exist now.
    const now = new Set(await admin.listTopics());
    if (!missing.every((s) => now.has(s.name))) throw e;
  }
  await waitForLeaders(
    admin,
    missing.map((s) => s.name),
  );
  logger.info(`created topics ${missing.map((s) => s.name).join(', ')}`, { replicationFactor: rf });
  return missing.map((s) => s.name);
}

/**
 * Waits until every partition of the topics has a leader. (KafkaJS's own waitForLeaders gives up on a
 * fresh broker that briefly answers "does not host this topic-partition".)
 */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = 'partitions without a leader';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${timeoutMs / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Deletes every record of every partition of `topic` (the topic stays, its offsets keep counting). */
export async function truncateTopic(admin: Admin, topic: string): Promise<void> {
  const existing = new Set(await admin.listTopics());
  if (!existing.has(topic)) return;
  const offsets = await admin.fetchTopicOffsets(topic);
  const partitions = offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => ({ partition: o.partition, offset: o.high }));
  if (partitions.length === 0) return;
  try {
    await admin.deleteTopicRecords({ topic, partitions });
  } catch (e) {
    throw new Error(
      `could not delete the records of ${topic}: ${(e as Error).message}. Kafka refuses this on a topic whose cleanup.policy ` +
        `is compact only: set it to compact,delete with retention.ms=-1 (kafka-configs.sh --alter --entity-type topics ` +
        `--entity-name ${topic} --add-config cleanup.policy=[compact,delete],retention.ms=-1), or delete and recreate the topic`,
    );
  }
}
