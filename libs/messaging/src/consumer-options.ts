// What a CheckpointedConsumer is given, what its handler gets, and the KafkaJS consumer made from it (with
// the heartbeats while a batch waits).
import type { Admin, Consumer, Kafka, KafkaMessage } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import type { MetaReporter } from './meta-reporter';
import type { CoalesceOptions } from './batch-coalescer';
import type { Checkpoint, RecordFingerprint } from './start-checks';
import type { PartitionOwner } from './partition-claims';
import type { FailurePolicy } from './batch-failures';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { setGroupInstanceId } from './kafkajs-static-membership';

/** How often KafkaJS heartbeats, and the consumer while a batch waits (default of `heartbeatIntervalMs`). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

export interface PartitionBatch {
  topic: string;
  partition: number;
  /** Only messages at or past the checkpoint: never one whose effect the state already holds. */
  messages: KafkaMessage[];
  /** Offset to record as processed once these messages are applied (last offset + 1). */
  nextOffset: string;
  /** The batch's last message, to keep with `nextOffset` (see RecordFingerprint). */
  last: RecordFingerprint;
}

export interface CheckpointedConsumerOptions extends FailurePolicy {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  groupId: string;
  topics: string[];
  checkpoint: Checkpoint;
  handle(batch: PartitionBatch): Promise<void>;
  logger: Logger;
  meta?: MetaReporter;
  sessionTimeoutMs?: number;
  /** How often the member heartbeats, also while a batch waits: how soon it sees a rebalance (default HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs?: number;
  /** Record bytes per fetch, per partition and in all (KafkaJS defaults 1 MiB and 10 MiB). */
  fetchMaxBytesPerPartition?: number;
  fetchMaxBytes?: number;
  /** The broker holds a fetch until this many bytes are there or `fetchMaxWaitMs` passed (KafkaJS default 1). */
  fetchMinBytes?: number;
  /** Longest the broker holds a fetch; a stop waits for it (default 500 ms; KafkaJS's is 5 s). */
  fetchMaxWaitMs?: number;
  /** Partitions consumed in parallel (each batch still handled whole). */
  partitionsConsumedConcurrently?: number;
  /** Several instances in one group: claim and release partitions (see PartitionOwner). */
  owner?: PartitionOwner;
  /** Topics whose partition counts must be equal (checked at start, with the state). */
  coPartitioned?: string[];
  /** KafkaJS partition assigners (e.g. one that co-locates partition p of every topic); default: co-partitioned, sticky. */
  partitionAssigners?: NonNullable<Parameters<Kafka['consumer']>[0]>['partitionAssigners'];
  /**
   * Hand consecutive batches of a partition to `handle` as one merged batch, once `maxMessages` are held or
   * the oldest held batch is `maxMs` old (fewer, larger updates downstream). Held messages are not applied:
   * the state's offset stays before them, so dropping them (a partition taken away, a stop) loses nothing.
   * Off when absent or maxMs is 0.
   */
  coalesce?: CoalesceOptions;
  signal?: AbortSignal;
  /** This member's API base URL, advertised in the join metadata (read at each join: known once the server listens). */
  endpoint?: () => string | undefined;
  /**
   * Static group membership (the Java consumer's group.instance.id, see kafkajs-static-membership.ts): unique in
   * the group and the same across this instance's restarts. A stop then sends no LeaveGroup, and a restart
   * within the session timeout gets the same partitions back without a rebalance. Absent: a dynamic member.
   * Registered for the group when the consumer is made (one member of a group per process).
   */
  groupInstanceId?: string;
}

/**
 * The KafkaJS consumer of these options. The default assigner gives partition p of every topic to one member,
 * sticky across rebalances: what this member runs, and since when, goes in its join metadata.
 */
export function kafkaConsumer(
  opts: CheckpointedConsumerOptions,
  runs: { running(): Iterable<number>; claimedAt(): ReadonlyMap<number, number> },
): Consumer {
  const sessionTimeout = opts.sessionTimeoutMs ?? 10_000;
  const heartbeatInterval = heartbeatIntervalOf(opts);
  // Kafka evicts a member whose heartbeats stop for the session timeout: heartbeats must come well within it.
  if (!(heartbeatInterval > 0 && heartbeatInterval * 3 <= sessionTimeout))
    throw new Error(
      `HEARTBEAT_INTERVAL_MS (${heartbeatInterval}) must be above 0 and at most a third of SESSION_TIMEOUT_MS (${sessionTimeout})`,
    );
  setGroupInstanceId(opts.groupId, opts.groupInstanceId);
  return opts.kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout,
    heartbeatInterval,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: opts.fetchMaxBytesPerPartition ?? 4 * 1024 * 1024,
    maxBytes: opts.fetchMaxBytes ?? 32 * 1024 * 1024,
    minBytes: opts.fetchMinBytes ?? 1,
    maxWaitTimeInMs: opts.fetchMaxWaitMs ?? 500,
    partitionAssigners: opts.partitionAssigners ?? [
      coPartitionedAssigner(
        () => runs.running(),
        () => runs.claimedAt(),
        opts.endpoint,
      ),
    ],
  });
}

export function heartbeatIntervalOf(opts: Pick<CheckpointedConsumerOptions, 'heartbeatIntervalMs'>): number {
  return opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
}

/** Runs `work`, heartbeating every `intervalMs` while it waits, and once after. */
export async function whileHeartbeating(
  heartbeat: () => Promise<void>,
  logger: { debug(m: string): void },
  work: () => Promise<void>,
  intervalMs = HEARTBEAT_INTERVAL_MS,
) {
  const keepAlive = setInterval(() => {
    heartbeat().catch((e: Error) => logger.debug(`heartbeat during a batch failed: ${e.message}`));
  }, intervalMs);
  try {
    await work();
    await heartbeat();
  } finally {
    clearInterval(keepAlive);
  }
}
