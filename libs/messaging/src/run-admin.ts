// Admin steps of a pipeline run (the runner, the bench, the experiments), so those tools need no KafkaJS
// of their own: create a run's topics, measure a group's lag, wait for groups to settle, delete a run,
// change a topic's own settings (tests make a topic refuse writes).
import { ConfigResourceTypes, ConfigSource, type Admin } from './kafkajs';
import type { KafkaClient } from './kafka-types';
import { consumerLag, totalLag } from './lag';
import { ensureTopics, pipelineTopics, TopicNames, waitForLeaders } from './topics';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** Runs `fn` with a connected admin client, disconnected afterwards whatever happens. */
export async function withAdmin<T>(kafka: KafkaClient, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    // Inside the try: a connect that fails half-way must still be disconnected (no socket left behind).
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the pipeline's topics under `names` that do not exist yet (replication as the cluster allows). */
export function createPipelineTopics(kafka: KafkaClient, names: TopicNames, ratingsPartitions: number): Promise<string[]> {
  return withAdmin(kafka, (admin) => ensureTopics(admin, pipelineTopics(names, ratingsPartitions), 0, quiet));
}

/** Total lag of a consumer group over `topics` (0 = committed up to the end offsets). */
export function groupLag(kafka: KafkaClient, group: string, topics: string[]): Promise<number> {
  return withAdmin(kafka, async (admin) => totalLag(await consumerLag(admin, group, topics)));
}

/** Deletes every topic starting with `prefix` and the consumer groups `groups` (missing groups are fine). */
export function deleteTopicsAndGroups(kafka: KafkaClient, prefix: string, groups: string[]): Promise<string[]> {
  return withAdmin(kafka, async (admin) => {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.deleteGroups(groups).catch(() => undefined);
    return mine;
  });
}

/**
 * Waits until every group is Stable with members (a consumer that has joined and been assigned its
 * partitions). `check` runs before each poll and may throw to give up early (a consumer that died).
 */
export function waitForStableGroups(
  kafka: KafkaClient,
  groups: string[],
  opts: { timeoutMs?: number; check?: () => void; members?: Record<string, number> } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return withAdmin(kafka, async (admin) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      opts.check?.();
      const d = await admin.describeGroups(groups);
      if (d.groups.every((g) => g.state === 'Stable' && g.members.length >= (opts.members?.[g.groupId] ?? 1))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`consumer groups ${groups.join(', ')} not stable after ${timeoutMs / 1000} s`);
  });
}

/** Creates `topic` (leaders elected), runs `fn`, deletes the topic again. */
export function withTemporaryTopic<T>(
  kafka: KafkaClient,
  topic: { name: string; partitions: number; replicationFactor?: number },
  fn: () => Promise<T>,
): Promise<T> {
  return withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [{ topic: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor ?? 1 }],
      // KafkaJS's own wait gives up when a fresh broker briefly answers "does not host this topic-partition"
      // (the bench's smoke test failed so once): the seam's wait retries that.
      waitForLeaders: false,
    });
    await waitForLeaders(admin, [topic.name]);
    try {
      return await fn();
    } finally {
      await admin.deleteTopics({ topics: [topic.name] }).catch(() => undefined);
    }
  });
}

/** One of a topic's settings, as AlterConfigs takes it. */
export interface TopicSetting {
  name: string;
  value: string;
}

/** The topic's own settings (not broker defaults). */
export function topicSettings(kafka: KafkaClient, topic: string): Promise<TopicSetting[]> {
  return withAdmin(kafka, async (admin) => {
    const d = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
    return d.resources[0]!.configEntries.filter((e) => !e.isDefault && e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => ({
      name: e.configName,
      value: e.configValue,
    }));
  });
}

/** Sets the topic's own settings to exactly `entries`: AlterConfigs replaces them all (any left out fall back to defaults). */
export function setTopicSettings(kafka: KafkaClient, topic: string, entries: TopicSetting[]): Promise<void> {
  return withAdmin(kafka, async (admin) => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: entries }],
    });
  });
}

/**
 * Changes some of the topic's settings, keeping its other own settings (which a bare AlterConfigs would
 * drop); returns the settings from before, for setTopicSettings to put back.
 */
export async function overrideTopicSettings(kafka: KafkaClient, topic: string, changes: Record<string, string>): Promise<TopicSetting[]> {
  const before = await topicSettings(kafka, topic);
  const changed = Object.entries(changes).map(([name, value]) => ({ name, value }));
  await setTopicSettings(kafka, topic, [...before.filter((e) => !(e.name in changes)), ...changed]);
  return before;
}
