// What a stateful service does when the group gives it partitions or takes them away: fence, restore from
// the changelog, drop. docs/SCALING.md explains the design; this is the state side of CheckpointedConsumer.
import type { Logger } from '@movie-stream/logging';
import {
  Compression,
  KafkaAdmin,
  KafkaClient,
  keyPartitioner,
  PartitionOwner,
  PartitionWriter,
  PartitionWriterOptions,
  StateMismatchError,
  streamPartitions,
} from '@movie-stream/messaging';
import type { StorableFrame } from '@movie-stream/storable-frame';

/** The service's output topic doubles as its changelog (the processor's mean-ratings). */
export interface Changelog<K, Row> {
  topic: string;
  /** One changelog record: the row it sets and the input offset it covers (the batch's next offset). */
  decode(value: Buffer): { key: K; row: Row; sourceOffset: string } | undefined;
}

/** One restore, for logs, /healthz and the bench. */
export interface RestoreInfo {
  partition: number;
  /** local: the saved state was current; changelog: rows read from the changelog; replay: nothing to restore, the input is read from its start. */
  source: 'local' | 'local+changelog' | 'changelog' | 'replay';
  recordsRead: number;
  rowsRestored: number;
  ms: number;
}

export interface PartitionedStateOptions<K, Row> {
  kafka: KafkaClient;
  admin: KafkaAdmin;
  brokers: string[];
  groupId: string;
  /** The consumed topics; the first one's offsets are the ones a changelog record covers. */
  topics: string[];
  frame: StorableFrame<K, Row>;
  logger: Logger;
  signal?: AbortSignal;
  changelog?: Changelog<K, Row>;
  /** The changelog writers' compression (KAFKA_COMPRESSION). */
  compression?: Compression;
  /** Where the writers report what they published (the meta topics). */
  meta?: PartitionWriterOptions['meta'];
  /** Called when a claim begins to restore these partitions (before the fence), so a restore can be shown in progress. */
  onRestoreStart?(partitions: number[]): void;
  onRestore?(info: RestoreInfo): void;
  /** Most changelog bytes of one partition per fetch of a restore (default: the reader's). */
  restoreFetchBytes?: number;
}

/** How many restores `PartitionedState.restores` keeps (the latest): an instance claims again and again for days. */
export const RESTORES_KEPT = 100;

/** What a restore has folded of one partition's changelog so far. */
interface Fold<K, Row> {
  /** The saved state's next input offset; -1 without one. */
  have: bigint;
  /** Per key the newest row read, with the input offset it covers: memory follows the keys, not the changelog. */
  latest: Map<K, { row: Row; at: bigint }>;
  /** The highest input offset a record read covers. */
  top: bigint;
  read: number;
  undecodable: number;
}

/** Transactional id of partition p's writer: the same for every instance of the group, so a new owner fences the old one. */
export const writerId = (groupId: string, partition: number) => `${groupId}.p${String(partition).padStart(2, '0')}`;

/**
 * Owns the state of the partitions the group assigns to this instance. Rows belong to the partition their
 * key hashes to (the topics are co-partitioned by movie id). With a changelog, every claim opens the
 * partition's transactional writer first (the fence) and only then reads what other owners committed
 * since this instance's state of the partition (all of it when it has none): so no batch is ever computed
 * from a state older than a committed one.
 */
export class PartitionedState<K, Row> implements PartitionOwner {
  private readonly writers = new Map<number, PartitionWriter>();
  /** The latest restores (at most RESTORES_KEPT), oldest first. */
  readonly restores: RestoreInfo[] = [];

  constructor(private readonly opts: PartitionedStateOptions<K, Row>) {}

  /** The partition a row belongs to. */
  rowPartition(key: K): number {
    const count = this.opts.frame.partitionCount(this.opts.topics[0]);
    if (count === undefined) throw new Error(`partition count of ${this.opts.topics[0]} unknown`);
    return keyPartitioner(this.opts.topics[0], count)(String(key));
  }

  /** The writer of an owned partition (with a changelog). */
  writer(partition: number): PartitionWriter {
    const w = this.writers.get(partition);
    if (!w) throw new Error(`no transactional writer for partition ${partition}: it is not claimed`);
    return w;
  }

  async claim(partitions: number[]): Promise<void> {
    await this.claimState(partitions);
    // Every claimed partition gets an offset in the state, also one with nothing in it yet (its start):
    // the state then says which partitions it holds, and merging instances' outputs finds every partition.
    const starts = new Map<string, Map<number, string>>();
    for (const t of this.opts.topics) starts.set(t, new Map((await this.opts.admin.fetchTopicOffsets(t)).map((o) => [o.partition, o.low])));
    await this.opts.frame.update((_rows, recordOffset) => {
      for (const t of this.opts.topics)
        for (const p of partitions) if (this.opts.frame.nextOffset(t, p) === undefined) recordOffset(t, p, starts.get(t)?.get(p) ?? '0');
    });
  }

  private async claimState(partitions: number[]): Promise<void> {
    const { changelog } = this.opts;
    this.opts.onRestoreStart?.(partitions);
    if (!changelog) {
      // The sink's topics are its changelog: a partition without saved state is read from its start.
      for (const p of partitions) {
        const local = this.opts.topics.every((t) => this.opts.frame.nextOffset(t, p) !== undefined);
        this.note({ partition: p, source: local ? 'local' : 'replay', recordsRead: 0, rowsRestored: 0, ms: 0 });
      }
      return;
    }
    const t0 = performance.now();
    await Promise.all(
      partitions.map(async (p) => {
        await this.writers.get(p)?.close();
        const w = new PartitionWriter(this.opts.kafka, {
          transactionalId: writerId(this.opts.groupId, p),
          brokers: this.opts.brokers,
          logger: this.opts.logger,
          signal: this.opts.signal,
          compression: this.opts.compression,
          meta: this.opts.meta,
        });
        this.writers.set(p, w);
        await w.open();
      }),
    );
    const fenceMs = performance.now() - t0;
    await this.restore(changelog, partitions, fenceMs);
  }

  private async restore(changelog: Changelog<K, Row>, partitions: number[], fenceMs: number): Promise<void> {
    const { frame, topics, admin } = this.opts;
    const input = topics[0];
    const t0 = performance.now();
    const inputEnds = new Map((await admin.fetchTopicOffsets(input)).map((o) => [o.partition, BigInt(o.high)]));
    const folds = new Map<number, Fold<K, Row>>();
    for (const p of partitions) {
      const have = BigInt(frame.nextOffset(input, p) ?? '-1');
      folds.set(p, { have, latest: new Map(), top: have, read: 0, undecodable: 0 });
    }
    const ranges = await streamPartitions(
      {
        kafka: this.opts.kafka,
        admin,
        brokers: this.opts.brokers,
        topic: changelog.topic,
        logger: this.opts.logger,
        signal: this.opts.signal,
        // A read that hangs (a leader moving under it) fails the claim, which is retried.
        timeoutMs: 120_000,
        fetchMaxBytesPerPartition: this.opts.restoreFetchBytes,
      },
      ({ partition, low, high }) => (folds.has(partition) ? (frame.nextOffset(changelog.topic, partition) ?? low) : high),
      // Folded as fetched: a restore never holds the changelog's records, only the newest row of each key.
      (partition, records) => {
        const f = folds.get(partition);
        if (f) fold(changelog, f, records);
      },
    );
    for (const range of ranges.filter((r) => folds.has(r.partition))) {
      const p = range.partition;
      const { have, latest, top, read, undecodable } = folds.get(p)!;
      const end = inputEnds.get(p) ?? 0n;
      if (top > end) {
        throw new StateMismatchError([
          `${changelog.topic} partition ${p} holds updates up to ${input} offset ${top}, past that partition's end (${end}): ` +
            `the changelog belongs to an older ${input} topic`,
        ]);
      }
      if (undecodable) this.opts.logger.warn(`${changelog.topic}:${p}: ${undecodable} changelog records without a source offset ignored`);
      await frame.update((rows, recordOffset) => {
        for (const [k, { row }] of latest) rows.set(k, row);
        if (top > have) recordOffset(input, p, top.toString());
        recordOffset(changelog.topic, p, range.high);
      });
      const source = have < 0n ? (latest.size ? 'changelog' : 'replay') : latest.size ? 'local+changelog' : 'local';
      this.note({ partition: p, source, recordsRead: read, rowsRestored: latest.size, ms: Math.round(fenceMs + performance.now() - t0) });
    }
  }

  private note(info: RestoreInfo): void {
    this.restores.push(info);
    if (this.restores.length > RESTORES_KEPT) this.restores.splice(0, this.restores.length - RESTORES_KEPT);
    this.opts.onRestore?.(info);
    this.opts.logger.info(
      `restored partition ${info.partition} from ${info.source}: ${info.recordsRead} changelog records read, ${info.rowsRestored} rows restored, ${info.ms} ms`,
      info,
    );
  }

  async release(partitions: number[]): Promise<void> {
    await Promise.all(partitions.map((p) => this.writers.get(p)?.close()));
    for (const p of partitions) this.writers.delete(p);
    const rows = await this.opts.frame.dropPartitions(partitions, (k) => this.rowPartition(k));
    this.opts.logger.info(`released partitions ${partitions.join(', ')}: ${rows} rows dropped`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.close()));
    this.writers.clear();
  }
}

/** Folds a fetched batch of changelog records into `f`: per key, the row covering the highest input offset wins. */
function fold<K, Row>(changelog: Changelog<K, Row>, f: Fold<K, Row>, records: { value: Buffer | null }[]): void {
  f.read += records.length;
  for (const rec of records) {
    const d = rec.value ? changelog.decode(rec.value) : undefined;
    if (!d || d.sourceOffset === '' || d.sourceOffset === '0') {
      f.undecodable++;
      continue;
    }
    const at = BigInt(d.sourceOffset);
    if (at <= f.have) continue; // the saved state holds it already
    const cur = f.latest.get(d.key);
    if (!cur || at > cur.at) f.latest.set(d.key, { row: d.row, at });
    if (at > f.top) f.top = at;
  }
}
