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
  retentionMs?: number;
}

/** The pipeline's topics: ratings spread over partitions by movie id; per-key state topics compacted. */
export function pipelineTopics(names: TopicNames, ratingsPartitions: number): TopicSpec[] {
  return [
    { name: names.ratings, partitions: ratingsPartitions },
    { name: names.movies, partitions: 3, compacted: true },
    { name: names.meanRatings, partitions: 3, compacted: true },
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
    if (s.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
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
