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
  readPartitions,
  StateMismatchError,
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
  /** Called when a claim begins to restore these partitions (before the fence), so a restore can be shown in progress. */
  onRestoreStart?(partitions: number[]): void;
  onRestore?(info: RestoreInfo): void;
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
    const contents = await readPartitions(
      {
        kafka: this.opts.kafka,
        admin,
        brokers: this.opts.brokers,
        topic: changelog.topic,
        logger: this.opts.logger,
        signal: this.opts.signal,
        groupIdPrefix: `${this.opts.groupId}.restore`,
        // A read that hangs (a leader or coordinator moving under it) fails the claim, which is retried.
        timeoutMs: 120_000,
      },
      ({ partition, low, high }) => (partitions.includes(partition) ? (frame.nextOffset(changelog.topic, partition) ?? low) : high),
    );
    for (const part of contents.filter((c) => partitions.includes(c.partition))) {
      const p = part.partition;
      const had = frame.nextOffset(input, p);
      const have = BigInt(had ?? '-1');
      const latest = new Map<K, { row: Row; at: bigint }>();
      let undecodable = 0;
      let top = have;
      for (const rec of part.records) {
        const d = rec.value ? changelog.decode(rec.value) : undefined;
        if (!d || d.sourceOffset === '' || d.sourceOffset === '0') {
          undecodable++;
          continue;
        }
        const at = BigInt(d.sourceOffset);
        if (at <= have) continue; // the saved state holds it already
        const cur = latest.get(d.key);
        if (!cur || at > cur.at) latest.set(d.key, { row: d.row, at });
        if (at > top) top = at;
      }
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
        recordOffset(changelog.topic, p, part.high);
      });
      const source = had === undefined ? (latest.size ? 'changelog' : 'replay') : latest.size ? 'local+changelog' : 'local';
      this.note({
        partition: p,
        source,
        recordsRead: part.records.length,
        rowsRestored: latest.size,
        ms: Math.round(fenceMs + performance.now() - t0),
      });
    }
  }

  private note(info: RestoreInfo): void {
    this.restores.push(info);
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
