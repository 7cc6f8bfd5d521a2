// Reading partitions without a consumer group: KafkaJS has no assign(), and a throw-away group costs a join
// (and the broker's initial rebalance delay) for every read. Instead the partitions are fetched from their
// leaders directly, through a KafkaJS cluster made from the caller's client (its brokers, TLS and SASL).
import type { Admin, Kafka } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import { fetchPartitions, partitionError, type FetchedPartition, type KafkaJsBroker } from './partition-reader-fetch';

/** One record as it is stored in a partition. */
export interface TopicRecord {
  partition: number;
  offset: string;
  /** Create or log-append time, ms since the epoch, as KafkaJS gives it. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** A partition's offsets when the read started (high: its last stable offset, as read_committed readers see it). */
export interface PartitionRange {
  partition: number;
  low: string;
  high: string;
}

export interface ReadPartitionsOptions {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  topic: string;
  logger: Logger;
  signal?: AbortSignal;
  /** @deprecated Unused: reads join no consumer group any more. Kept so that callers passing it compile. */
  groupIdPrefix?: string;
  /** Give up (throw) when the read has not finished after this long; default: wait as long as it takes. */
  timeoutMs?: number;
  /** Most bytes of one partition per fetch (at least one record batch comes whatever the limit); default 4 MiB. */
  fetchMaxBytesPerPartition?: number;
}

/** Called with each fetched batch of a partition's records, in offset order; the next fetch waits for it. */
export type OnRecords = (partition: number, records: TopicRecord[]) => void | Promise<void>;

// Per fetch: enough to read a changelog in a few dozen round trips, little enough that one response's
// records (decoded) stay a few tens of MB.
const PARTITION_MAX_BYTES = 4 * 1024 * 1024;
const FETCH_MAX_BYTES = 16 * 1024 * 1024;
// How long the leader may hold a fetch that has nothing yet (records up to `high` not yet stable).
const FETCH_MAX_WAIT_MS = 500;
const OFFSET_OUT_OF_RANGE = 1;

interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(opts: { nodeId: string }): Promise<KafkaJsBroker>;
}

/** A new cluster (connections, metadata) of `kafka`, as KafkaJS makes one for each of its clients. */
function clusterOf(kafka: Kafka): KafkaJsCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key && (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof create !== 'function') throw new Error('this KafkaJS client has no createCluster: the group-less reader needs KafkaJS 2.x');
  return (create as (o: object) => KafkaJsCluster)({ allowAutoTopicCreation: false });
}

/** Settles as `p`, or rejects with the abort reason as soon as `signal` aborts (the result is then dropped). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Reads the partitions of `topic` from the offset `from` picks up to `to` (exclusive; default and at most the
 * high watermark the partition had when the read started: records written meanwhile are left out), and hands
 * each fetched batch of records to `onRecords` as it arrives, so a caller folding them holds no more than one
 * fetch. Read_committed: aborted transactions and transaction markers are left out. Joins no consumer group:
 * fetches from each partition's leader, following leader changes (retried with backoff, as every Kafka call
 * here). Partitions with nothing to read cost nothing. Returns every partition's offsets, by partition.
 */
export async function streamPartitions(
  opts: ReadPartitionsOptions,
  from: (p: PartitionRange) => string,
  onRecords: OnRecords,
  to?: (p: PartitionRange) => string,
): Promise<PartitionRange[]> {
  const { admin, topic, logger } = opts;
  // One signal for the caller's abort and the time limit.
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason ?? new Error('aborted'));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const pending = new Map<number, { next: bigint; end: bigint }>();
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          const parts = [...pending.keys()].join(', ');
          stop.abort(new Error(`reading ${topic} partitions ${parts} did not finish within ${opts.timeoutMs! / 1000} s`));
        }, opts.timeoutMs);
  const signal = stop.signal;
  try {
    const offsets = await retryForever(`reading the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic), logger, signal);
    const ranges = offsets.map(({ partition, low, high }) => ({ partition, low, high })).sort((a, b) => a.partition - b.partition);
    for (const r of ranges) {
      const start = BigInt(from(r));
      const stopAt = to?.(r);
      const end = stopAt !== undefined && BigInt(stopAt) < BigInt(r.high) ? BigInt(stopAt) : BigInt(r.high);
      const next = start < BigInt(r.low) ? BigInt(r.low) : start;
      if (next < end) pending.set(r.partition, { next, end });
    }
    if (pending.size === 0) return ranges;

    const cluster = clusterOf(opts.kafka);
    try {
      await connectWithRetry(cluster, opts.brokers, logger, signal);
      await retryForever(`reading the metadata of ${topic}`, () => cluster.addTargetTopic(topic), logger, signal);
      while (pending.size > 0) {
        const fetched = await retryForever(
          `fetching ${topic} partitions ${[...pending.keys()].join(', ')}`,
          () => fetchRound(cluster, opts, pending, signal),
          logger,
          signal,
        );
        // Outside the retry: a failing callback fails the read instead of being fed the same records again.
        for (const f of fetched) {
          const p = pending.get(f.partition);
          if (!p) continue;
          if (f.restartAt !== undefined) {
            logger.warn(
              `${topic}:${f.partition}: offsets ${p.next} to ${f.restartAt - 1n} were deleted while being read: reading on from ${f.restartAt}`,
            );
            p.next = f.restartAt;
          } else {
            const records: TopicRecord[] = [];
            for (const r of f.records) {
              const at = BigInt(r.offset);
              if (at >= p.next && at < p.end)
                records.push({ partition: f.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value });
            }
            // After an abort (from a callback too) nothing more is handed on, also of this round.
            signal.throwIfAborted();
            if (records.length) await onRecords(f.partition, records);
            if (f.nextOffset !== undefined && BigInt(f.nextOffset) > p.next) p.next = BigInt(f.nextOffset);
          }
          if (p.next >= p.end) pending.delete(f.partition);
        }
        signal.throwIfAborted();
      }
    } finally {
      await cluster.disconnect().catch(() => undefined);
    }
    return ranges;
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * One fetch of every pending partition from its leader (leaders in parallel). Throws, after refreshing the
 * metadata, when a leader cannot be found or reached or a partition has another error than an offset out of
 * range (NOT_LEADER after a leader change, ...): the caller retries the whole round, which repeats no record
 * since offsets only move on once a round's results are handed on.
 */
async function fetchRound(
  cluster: KafkaJsCluster,
  opts: ReadPartitionsOptions,
  pending: Map<number, { next: bigint; end: bigint }>,
  signal: AbortSignal,
): Promise<(FetchedPartition & { restartAt?: bigint })[]> {
  const { topic } = opts;
  const perPartition = opts.fetchMaxBytesPerPartition ?? PARTITION_MAX_BYTES;
  try {
    const partitions = [...pending.keys()];
    const leaders = cluster.findLeaderForPartitions(topic, partitions);
    const led = new Set(Object.values(leaders).flat());
    const leaderless = partitions.filter((p) => !led.has(p));
    if (leaderless.length) throw new Error(`no leader known for ${topic} partitions ${leaderless.join(', ')}`);
    // allSettled: no fetch of this round is still under way when it is retried.
    const results = await Promise.allSettled(
      Object.entries(leaders).map(async ([nodeId, ps]) => {
        const broker = await abortable(cluster.findBroker({ nodeId }), signal);
        const request = ps.map((partition) => ({
          partition,
          fetchOffset: pending.get(partition)!.next.toString(),
          maxBytes: perPartition,
        }));
        const limits = { maxWaitMs: FETCH_MAX_WAIT_MS, maxBytes: Math.max(FETCH_MAX_BYTES, perPartition) };
        return abortable(fetchPartitions(broker, topic, request, limits), signal);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const fetched = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const wrong = fetched.find((f) => f.errorCode !== 0 && f.errorCode !== OFFSET_OUT_OF_RANGE);
    if (wrong) throw partitionError(wrong.errorCode);
    const outOfRange = fetched.filter((f) => f.errorCode === OFFSET_OUT_OF_RANGE);
    if (!outOfRange.length) return fetched;
    // The offset to read was deleted under the read (retention, a truncated topic): go on from the
    // partition's start, as a consumer reading from the beginning does. Another cause is retried.
    const lows = new Map((await opts.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
    for (const f of outOfRange) {
      const low = lows.get(f.partition) ?? 0n;
      if (low <= pending.get(f.partition)!.next) throw partitionError(f.errorCode);
    }
    return fetched.map((f) => (f.errorCode === OFFSET_OUT_OF_RANGE ? { ...f, restartAt: lows.get(f.partition) } : f));
  } catch (e) {
    if (!signal.aborted) await cluster.refreshMetadata().catch(() => undefined);
    throw e;
  }
}
