import { createHash } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import type { MetaReporter } from './meta-reporter';
import { FencedError } from './partition-writer';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { readPartitions } from './partition-tails';
import { BatchCoalescer, CoalescedBatch, CoalesceOptions } from './batch-coalescer';

/**
 * Which record a partition's state offset was recorded after: its offset (the state's offset - 1),
 * timestamp and a hash of key and value. A topic deleted and recreated under the same name restarts its
 * offsets at 0; the record at that offset is then a different one (another timestamp at least).
 */
export interface RecordFingerprint {
  offset: string;
  timestamp: string;
  hash: string;
}

export function fingerprint(m: Pick<KafkaMessage, 'offset' | 'timestamp' | 'key' | 'value'>): RecordFingerprint {
  const h = createHash('sha256');
  // Lengths first, so key "ab" + value "c" differs from key "a" + value "bc"; -1 for a null key or value.
  const len = Buffer.alloc(8);
  len.writeInt32BE(m.key ? m.key.length : -1, 0);
  len.writeInt32BE(m.value ? m.value.length : -1, 4);
  h.update(len);
  if (m.key) h.update(m.key);
  if (m.value) h.update(m.value);
  return { offset: m.offset, timestamp: m.timestamp, hash: h.digest('hex').slice(0, 32) };
}

/** Where a consumer's state says each partition continues: the snapshot's offsets. */
export interface Checkpoint {
  /** Next offset to process, or undefined when the state holds nothing of this partition. */
  nextOffset(topic: string, partition: number): string | undefined;
  /** The record the state's offset was recorded after (checked on start); undefined when not kept. */
  lastRecord?(topic: string, partition: number): RecordFingerprint | undefined;
  /** The topic's partition count when the state was built; undefined when not kept. */
  partitionCount?(topic: string): number | undefined;
  /** Told the topic's partition count once the state is found to belong to the topic. */
  setPartitionCount?(topic: string, count: number): void;
  /**
   * Moves a partition's offset forward to `next` when the records before it were no data for the state
   * (transaction markers, aborted records); never backwards.
   */
  advance?(topic: string, partition: number, next: string): Promise<void>;
}

/**
 * The state side of partition ownership when several instances share a group. A partition index p stands
 * for partition p of every consumed topic (they are co-partitioned).
 */
export interface PartitionOwner {
  /**
   * Make the state of these partitions current (fence, restore what other owners wrote): called when the
   * group assigns them, and again for one whose transaction was fenced while the group still assigns it.
   * The partitions are consumed only after it resolves, from the state's offsets as they are then.
   */
  claim(partitions: number[]): Promise<void>;
  /** These partitions are no longer this member's: drop their state (nothing of them may be output). */
  release(partitions: number[]): Promise<void>;
}

/** The topics a service reads together must be co-partitioned (same count): they are not. */
export class TopicLayoutError extends Error {
  constructor(counts: [string, number][]) {
    super(
      `the topics ${counts.map(([t, n]) => `${t} (${n} partitions)`).join(', ')} must have the same partition count: ` +
        'a movie lives in partition p of each, and the instance owning p owns all of it. Recreate them with one count ' +
        '(RATINGS_PARTITIONS sets it for all three when the services create them), then start with --reset-state=true',
    );
    this.name = 'TopicLayoutError';
  }
}

/** The state does not belong to the topic as it is now (deleted and recreated, partitions changed). */
export class StateMismatchError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the saved state does not belong to the topics as they are now: ${problems.join('; ')}. ` +
        'The topic was probably deleted and recreated (or its partition count changed) after the state was saved; ' +
        'consuming would silently skip or misplace its records',
    );
    this.name = 'StateMismatchError';
  }
}

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

export interface CheckpointedConsumerOptions {
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
  /** KafkaJS partition assigners (e.g. one that co-locates partition p of every topic); default round robin. */
  partitionAssigners?: NonNullable<Parameters<Kafka['consumer']>[0]>['partitionAssigners'];
  /**
   * Hand consecutive batches of a partition to `handle` as one merged batch, once `maxMessages` are held or
   * the oldest held batch is `maxMs` old (fewer, larger updates downstream). Held messages are not applied:
   * the state's offset stays before them, so dropping them (a partition taken away, a stop) loses nothing.
   * Off when absent or maxMs is 0.
   */
  coalesce?: CoalesceOptions;
  signal?: AbortSignal;
}

/**
 * A KafkaJS consumer whose position comes from the service's own state, not from Kafka's committed
 * offsets: messages below the checkpoint are dropped, and on the first batch of a partition after each
 * (re)assignment it seeks to the checkpoint if Kafka started it elsewhere (e.g. after the state was
 * deleted: back to the start). Committed offsets are therefore only a hint and for lag monitoring;
 * a crash between snapshot and commit cannot count anything twice.
 */
export class CheckpointedConsumer {
  readonly consumer: Consumer;
  private readonly verified = new Set<string>();
  private lowWatermarks = new Map<string, string>();
  private highWatermarks = new Map<string, string>();
  private partitionCounts = new Map<string, number>();
  /** Per partition, the record the state last consumed, until the record at that offset was compared with it. */
  private readonly marksToCheck = new Map<string, RecordFingerprint>();
  private failure?: Error;
  private onFailure?: (e: Error) => void;
  /** Resolves (never rejects) with the error when consumption found the state does not belong to the topic. */
  readonly failed: Promise<Error> = new Promise((resolve) => (this.onFailure = resolve));
  private active = 0;
  private idle?: () => void;
  /** Messages dropped because the state already held them (replays after a crash). */
  skippedReplays = 0;
  /** Partition indices claimed and being consumed (owner mode). */
  private readonly owned = new Set<number>();
  /** Indices whose state is (being) loaded into this instance: owned, claiming, or from the saved state. */
  private readonly held = new Set<number>();
  /** Indices of the current assignment. */
  private assigned = new Set<number>();
  /** Indices whose transaction was fenced while still assigned: claimed again after the next good heartbeat. */
  private readonly fenced = new Set<number>();
  private joins = 0;
  /** Claims and releases run one after another, in the order the group changed. */
  private ownerChain: Promise<void> = Promise.resolve();
  private readonly coalescer?: BatchCoalescer<RecordFingerprint>;
  /** Per topic:partition, a failed timer flush: thrown from the partition's next batch, as if that batch had failed. */
  private readonly flushFailures = new Map<string, unknown>();

  constructor(private readonly opts: CheckpointedConsumerOptions) {
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 2_000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: opts.fetchMaxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: opts.fetchMaxBytes ?? 32 * 1024 * 1024,
      minBytes: opts.fetchMinBytes ?? 1,
      maxWaitTimeInMs: opts.fetchMaxWaitMs ?? 500,
      // Partition p of every topic to one member, sticky across rebalances (what this member owns is in its join metadata).
      partitionAssigners: opts.partitionAssigners ?? [coPartitionedAssigner(() => this.owned)],
    });
    // Kafka would start each assigned partition at the group's committed offset; the state says where to
    // continue (behind it after a crash between snapshot and commit, at the start when the state was
    // deleted). Seek every assigned partition there; KafkaJS applies seeks before its next fetch.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment));
    if (opts.coalesce && opts.coalesce.maxMs > 0) {
      this.coalescer = new BatchCoalescer<RecordFingerprint>({
        ...opts.coalesce,
        flush: (batch) => this.apply(batch),
        onTimerFailure: (batch, e) => this.flushFailed(batch, e),
      });
    }
    // A batch that contained only transaction markers or aborted records never reaches eachBatch: move the
    // state's offset past them, or the group's lag (and a drain) would never reach 0.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, batchSize, lastOffset } = e.payload;
      if (batchSize !== 0 || lastOffset == null || this.failure || !this.consuming(partition)) return;
      const next = (BigInt(lastOffset) + 1n).toString();
      const advance = async () => this.opts.checkpoint.advance?.(topic, partition, next);
      // Coalescing: never past held messages (they are not in the state yet); after a flush in progress.
      void (this.coalescer ? this.coalescer.advance(topic, partition, next, advance) : advance()).catch((err: Error) => {
        this.opts.logger.warn(`${topic}:${partition}: could not move the offset past transaction markers: ${err.message}`);
      });
    });
    // KafkaJS restarts its consumer after retriable failures only; after any other (a handler's publish
    // refused for good, say) no consumer is left: fail the service rather than sit idle and look healthy.
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopping) return;
      this.fail(
        new Error(`the Kafka consumer of ${this.opts.groupId} stopped after a failure KafkaJS does not retry: ${e.payload.error.message}`),
      );
    });
    this.consumer.on(this.consumer.events.HEARTBEAT, () => {
      this.reclaimFenced();
      this.retryCommit();
    });
  }

  private consuming(partition: number): boolean {
    return !this.opts.owner || this.owned.has(partition);
  }

  /** Partition indices of an assignment (every topic's; they are co-partitioned). */
  private onJoin(assignment: Record<string, number[]>): void {
    const join = ++this.joins;
    this.verified.clear();
    // Every partition is read again from the state's offset after a join (seeks below, or by a new owner):
    // held messages are not in the state, so they are dropped, not applied; they come again.
    this.dropHeld();
    const indices = new Set<number>();
    const problems: string[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      const count = this.partitionCounts.get(topic);
      for (const p of partitions) {
        indices.add(p);
        if (count !== undefined && p >= count) problems.push(`${topic} has partition ${p} now, the state was built on ${count} partitions`);
      }
    }
    if (problems.length) {
      this.fail(new StateMismatchError([...new Set(problems)]));
      return;
    }
    const owner = this.opts.owner;
    this.assigned = indices;
    const seekTo = (p: number): string[] =>
      Object.entries(assignment)
        .filter(([, parts]) => parts.includes(p))
        .map(([topic]) => {
          const offset = this.startOffset(topic, p).toString();
          this.consumer.seek({ topic, partition: p, offset });
          return `${topic}:${p}@${offset}`;
        });
    if (!owner) {
      const positions = [...indices].flatMap(seekTo);
      this.opts.logger.info("joined consumer group; positioned at the state's offsets", { groupId: this.opts.groupId, positions });
      return;
    }
    const lost = [...this.held].filter((p) => !indices.has(p));
    const gained = [...indices].filter((p) => !this.owned.has(p));
    for (const p of lost) {
      this.owned.delete(p);
      this.held.delete(p);
      this.fenced.delete(p);
    }
    for (const p of gained) {
      this.held.add(p);
      this.fenced.delete(p);
    }
    // A commit still to be retried holds only partitions this member keeps: for the others it says nothing now.
    if (this.newest) {
      const moved = new Set([...lost, ...gained].map(String));
      this.newest = Object.fromEntries(
        Object.entries(this.newest).map(([topic, parts]) => [
          topic,
          Object.fromEntries(Object.entries(parts).filter(([p]) => !moved.has(p))),
        ]),
      );
    }
    // Gained partitions wait (paused) until their state is claimed; kept ones continue where the state is.
    if (gained.length) {
      this.consumer.pause(this.topicPartitions(assignment, gained));
      // The group's offsets of a gained partition are the previous owner's; this member may have to rebuild
      // it from further back. Commit where this state stands, so that lag (and a run's "drained") says what
      // this owner has, not what the last one had. Commits only ever say where some state really is.
      const positions = this.topicPartitions(assignment, gained).flatMap(({ topic, partitions }) =>
        partitions.map((partition) => ({ topic, partition, offset: this.expected(topic, partition).toString() })),
      );
      this.consumer.commitOffsets(positions).catch((err: Error) => this.opts.logger.debug(`commit on join failed: ${err.message}`));
    }
    const kept = [...indices].filter((p) => this.owned.has(p)).flatMap(seekTo);
    this.opts.logger.info('joined consumer group', {
      groupId: this.opts.groupId,
      partitions: [...indices].sort((a, b) => a - b),
      gained: gained.sort((a, b) => a - b),
      lost: lost.sort((a, b) => a - b),
      kept,
    });
    this.ownerChain = this.ownerChain
      .then(async () => {
        if (lost.length) {
          // A timer flush of a lost partition may still be writing: its state goes only after it ended.
          await this.coalescer?.settled((_t, p) => lost.includes(p));
          await owner.release(lost);
        }
        if (gained.length === 0) return;
        await this.claim(owner, gained);
        // A later join decides for itself what to do with these (it saw them as not yet owned).
        if (join !== this.joins || this.failure) return;
        if (this.stopping) {
          this.opts.logger.info(`stopping: partitions ${gained.join(', ')} claimed after the stop began; not consumed here`);
          return;
        }
        for (const p of gained) this.owned.add(p);
        let positions: string[] = [];
        const resumed = this.control('resuming claimed partitions', () => {
          positions = gained.flatMap(seekTo);
          this.consumer.resume(this.topicPartitions(assignment, gained));
        });
        if (resumed) this.opts.logger.info("claimed partitions; consuming them from the state's offsets", { positions });
      })
      .catch((e: Error) => this.ownerStepFailed(e, lost, gained));
  }

  private topicPartitions(assignment: Record<string, number[]>, indices: number[]): { topic: string; partitions: number[] }[] {
    return Object.entries(assignment)
      .map(([topic, parts]) => ({ topic, partitions: parts.filter((p) => indices.includes(p)) }))
      .filter((tp) => tp.partitions.length > 0);
  }

  /**
   * A fenced partition that the group still assigns to this member (its heartbeat just succeeded, so it is
   * still in the generation that assigned it): another instance took the transactional id without owning
   * the partition (a zombie). Claim it again; the claim restores what was written meanwhile.
   */
  private reclaimFenced(): void {
    const owner = this.opts.owner;
    const again = [...this.fenced].filter((p) => this.assigned.has(p) && !this.owned.has(p));
    this.fenced.clear();
    if (!owner || again.length === 0 || this.failure) return;
    const join = this.joins;
    this.ownerChain = this.ownerChain
      .then(async () => {
        await this.claim(owner, again);
        if (join !== this.joins || this.failure || this.stopping) return;
        const assignment: Record<string, number[]> = Object.fromEntries(this.opts.topics.map((t) => [t, again]));
        for (const p of again) this.owned.add(p);
        const resumed = this.control('resuming reclaimed partitions', () => {
          for (const p of again)
            for (const topic of this.opts.topics)
              this.consumer.seek({ topic, partition: p, offset: this.startOffset(topic, p).toString() });
          this.consumer.resume(this.topicPartitions(assignment, again));
        });
        if (resumed) this.opts.logger.info(`claimed partitions ${again.join(', ')} again after their transactions were fenced`);
      })
      .catch((e: Error) => this.ownerStepFailed(e, [], again));
  }

  /**
   * A release or claim failed. During a stop that is the stop cutting it short (a stopping member gains
   * partitions when the others leave first): nothing was consumed from them, the next owner claims them
   * anew, so it is no failure of the service.
   */
  private ownerStepFailed(e: Error, released: number[], claimed: number[]): void {
    if (!this.opts.signal?.aborted && !this.stopping) {
      this.fail(e);
      return;
    }
    const what = [released.length ? `release of ${released.join(', ')}` : '', claimed.length ? `claim of ${claimed.join(', ')}` : '']
      .filter(Boolean)
      .join(' and ');
    this.opts.logger.info(`stopping: partition ${what || 'ownership change'} not finished (${e.message})`);
  }

  /**
   * Claims partitions, retrying what a broker may fail for a while (a leader election, a coordinator moving):
   * each attempt fences again and restores again, which keeps the order fence-then-restore. A state that does
   * not belong to the topics is no transient failure: it stops the service.
   */
  private async claim(owner: PartitionOwner, partitions: number[]): Promise<void> {
    const refused = await retryForever(
      `claiming partitions ${partitions.join(', ')}`,
      async () => {
        try {
          await owner.claim(partitions);
          return undefined;
        } catch (e) {
          if (e instanceof StateMismatchError || e instanceof TopicLayoutError) return e;
          throw e;
        }
      },
      this.opts.logger,
      this.opts.signal,
    );
    if (refused) throw refused;
  }

  /** A newer owner fenced this partition's writes: stop consuming it at once (nothing of the batch was applied). */
  private lose(topic: string, partition: number, e: FencedError): void {
    this.owned.delete(partition);
    this.dropHeld((_t, p) => p === partition);
    this.fenced.add(partition);
    this.control(`pausing fenced partition ${partition}`, () =>
      this.consumer.pause(this.opts.topics.map((t) => ({ topic: t, partitions: [partition] }))),
    );
    this.opts.logger.warn(`${topic}:${partition}: partition lost: ${e.message}; not consuming it unless the group still assigns it`);
  }

  async start(): Promise<void> {
    const { admin, topics, logger } = this.opts;
    // Right after another process created the topics their leaders may not be elected yet: retry.
    await retryForever(
      `reading start offsets of ${topics.join(', ')}`,
      async () => {
        for (const topic of new Set([...topics, ...(this.opts.coPartitioned ?? [])])) {
          const offsets = await admin.fetchTopicOffsets(topic);
          this.partitionCounts.set(topic, offsets.length);
          for (const p of offsets) {
            this.lowWatermarks.set(`${topic}:${p.partition}`, p.low);
            this.highWatermarks.set(`${topic}:${p.partition}`, p.high);
          }
        }
      },
      logger,
      this.opts.signal,
    );
    this.checkStateAgainstTopics();
    await this.verifyMarks();
    const co = (this.opts.coPartitioned ?? []).map((t): [string, number] => [t, this.partitionCounts.get(t) ?? 0]);
    if (new Set(co.map(([, n]) => n)).size > 1) throw new TopicLayoutError(co);
    // Partitions the saved state holds: released on the first join unless assigned.
    for (const topic of this.opts.topics)
      for (let p = 0; p < (this.partitionCounts.get(topic) ?? 0); p++)
        if (this.opts.checkpoint.nextOffset(topic, p) !== undefined) this.held.add(p);
    await connectWithRetry(this.consumer, this.opts.brokers, logger, this.opts.signal);
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        this.active++;
        try {
          await this.onBatch(batch.topic, batch.partition, batch.messages, resolveOffset, batch.lastOffset());
          await heartbeat();
        } finally {
          if (--this.active === 0) this.idle?.();
        }
      },
    });
  }

  /**
   * Refuses a state that cannot belong to the topics as they are: another partition count, or an offset
   * past a partition's end (the topic was recreated with fewer records) or below its start (records the
   * state never saw were deleted). Within range, the record before the state's offset is compared on the
   * first fetch (see onBatch): that catches a topic recreated with at least as many records.
   */
  private checkStateAgainstTopics(): void {
    const cp = this.opts.checkpoint;
    const problems: string[] = [];
    for (const topic of this.opts.topics) {
      const count = this.partitionCounts.get(topic) as number;
      const known = cp.partitionCount?.(topic);
      if (known !== undefined && known !== count) {
        problems.push(`${topic} has ${count} partitions, the state was built on ${known}`);
        continue;
      }
      for (let partition = 0; partition < count; partition++) {
        const next = cp.nextOffset(topic, partition);
        if (next === undefined) continue;
        const key = `${topic}:${partition}`;
        const low = BigInt(this.lowWatermarks.get(key) ?? '0');
        const high = BigInt(this.highWatermarks.get(key) ?? '0');
        const n = BigInt(next);
        if (n > high) {
          problems.push(`${topic} partition ${partition}: the state continues at offset ${n}, past the partition's end (${high})`);
        } else if (n < low) {
          problems.push(
            `${topic} partition ${partition}: the state continues at offset ${n}, but the partition now starts at ${low} (records the state never saw were deleted)`,
          );
        } else {
          const mark = cp.lastRecord?.(topic, partition);
          // A mark below the start was removed by retention: not comparable, the range check is all there is.
          if (mark && BigInt(mark.offset) === n - 1n && BigInt(mark.offset) >= low) this.marksToCheck.set(key, mark);
        }
      }
    }
    if (problems.length) throw new StateMismatchError(problems);
    for (const topic of this.opts.topics) cp.setPartitionCount?.(topic, this.partitionCounts.get(topic) as number);
  }

  /**
   * Reads, before joining, the record before each partition's saved offset and compares it with the one the
   * state last consumed there: a topic recreated with at least as many records has another one there. Done
   * up front, so a state that does not belong to the topic is refused before anything (a claim, a snapshot)
   * has touched it.
   */
  private async verifyMarks(): Promise<void> {
    const byTopic = new Map<string, Map<number, RecordFingerprint>>();
    for (const [key, mark] of this.marksToCheck) {
      const i = key.lastIndexOf(':');
      const topic = key.slice(0, i);
      (byTopic.get(topic) ?? byTopic.set(topic, new Map()).get(topic))?.set(Number(key.slice(i + 1)), mark);
    }
    const problems: string[] = [];
    for (const [topic, marks] of byTopic) {
      const parts = await readPartitions(
        {
          kafka: this.opts.kafka,
          admin: this.opts.admin,
          brokers: this.opts.brokers,
          topic,
          logger: this.opts.logger,
          signal: this.opts.signal,
          groupIdPrefix: `${this.opts.groupId}.verify`,
        },
        ({ partition, high }) => marks.get(partition)?.offset ?? high,
        ({ partition, high }) => {
          const m = marks.get(partition);
          return m ? (BigInt(m.offset) + 1n).toString() : high;
        },
      );
      for (const [partition, mark] of marks) {
        const at = parts.find((p) => p.partition === partition)?.records.find((r) => r.offset === mark.offset);
        if (!at) {
          // Compaction removed it (or it was a marker): nothing to compare; the range checks passed.
          this.opts.logger.info(`${topic}:${partition}: the state's last record (offset ${mark.offset}) is gone: resuming unchecked`);
          continue;
        }
        const found = fingerprint(at);
        if (found.timestamp !== mark.timestamp || found.hash !== mark.hash) {
          const how =
            found.hash === mark.hash
              ? `same key and value, but written at ${found.timestamp}, the state's at ${mark.timestamp}`
              : 'a different key or value';
          problems.push(
            `${topic} partition ${partition}: the record at offset ${mark.offset} is not the one the state last consumed there (${how})`,
          );
        }
      }
    }
    if (problems.length) throw new StateMismatchError(problems);
    if (this.marksToCheck.size)
      this.opts.logger.info(
        `the records before the state's offsets are the ones the state last consumed (${this.marksToCheck.size} partitions)`,
      );
    this.marksToCheck.clear();
  }

  /** Where a partition is read from after an assignment: where the state continues. */
  private startOffset(topic: string, partition: number): bigint {
    return this.expected(topic, partition);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.control('pausing after a failure', () => this.consumer.pause(this.opts.topics.map((topic) => ({ topic }))));
    this.dropHeld();
    this.opts.logger.error(e.message);
    this.onFailure?.(e);
  }

  /**
   * Calls KafkaJS's pause, resume or seek, which throw while its consumer group is not there: between a
   * crash and its restart, or once stopped. Returns false then, having done nothing: the restarted
   * consumer's join pauses, seeks and claims everything again from this member's sets (KafkaJS forgets its
   * pauses on a restart anyway). Any other error is thrown.
   */
  private control(what: string, call: () => void): boolean {
    try {
      call();
      return true;
    } catch (e) {
      if (!/consumer#run must be called first/.test((e as Error).message)) throw e;
      this.opts.logger.debug(`${what}: left to the next join (the Kafka consumer is not running: ${(e as Error).message})`);
      return false;
    }
  }

  /** Set by pause() and stop(): nothing resumes fetching any more. */
  private stopping = false;

  private expected(topic: string, partition: number): bigint {
    const next = this.opts.checkpoint.nextOffset(topic, partition) ?? this.lowWatermarks.get(`${topic}:${partition}`) ?? '0';
    return BigInt(next);
  }

  /** `batchEnd`: the batch's last offset, past its last message when transaction markers follow that. */
  private async onBatch(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    resolveOffset: (o: string) => void,
    batchEnd: string,
  ): Promise<void> {
    // Stopping: a fetch already under way (or a restarted KafkaJS consumer, which forgot the pause) is not
    // applied; the partition is read from the state's offset next time.
    if (this.failure || this.stopping || !this.consuming(partition)) return;
    const key = `${topic}:${partition}`;
    if (this.flushFailures.has(key)) {
      // A timer flush of this partition failed (its messages are read again from here): fail this batch as
      // that flush would have failed it, so KafkaJS logs, backs off and retries it (and gives up) as for any batch.
      const e = this.flushFailures.get(key);
      this.flushFailures.delete(key);
      throw e;
    }
    // Messages held or being applied are past the state's offset: what follows them is new, the rest a replay.
    const pending = this.coalescer?.pendingNextOffset(topic, partition);
    const expected = pending !== undefined ? BigInt(pending) : this.expected(topic, partition);
    const want = this.startOffset(topic, partition);
    const first = BigInt(messages[0].offset);
    if (!this.verified.has(key)) {
      this.verified.add(key);
      if (first > want) {
        // Kafka's committed offset is past our state (state deleted or older): go back and rebuild.
        this.opts.logger.warn(`${key}: consumer started at ${first}, state continues at ${want}: seeking back`);
        this.consumer.seek({ topic, partition, offset: want.toString() });
        return;
      }
    }
    let start = 0;
    while (start < messages.length && BigInt(messages[start].offset) < expected) start++;
    this.skippedReplays += start;
    let last = messages[messages.length - 1].offset;
    // A transaction's commit marker after the last message: the state's offset goes past it, or the group's
    // lag would stay 1 per partition forever (the marker is never delivered as a message).
    if (BigInt(batchEnd) > BigInt(last)) last = batchEnd;
    if (start < messages.length) {
      const fresh = start === 0 ? messages : messages.slice(start);
      const nextOffset = (BigInt(last) + 1n).toString();
      const batch: PartitionBatch = { topic, partition, messages: fresh, nextOffset, last: fingerprint(messages[messages.length - 1]) };
      try {
        if (this.coalescer) {
          // Resolved with KafkaJS once held, so that fetching goes on; applied later, merged.
          if ((await this.coalescer.add(batch)) === 'stale') return;
        } else await this.apply(batch);
      } catch (e) {
        if (e instanceof FencedError) {
          this.lose(topic, partition, e);
          return;
        }
        // Held messages before this batch were resolved with KafkaJS already: read them all again.
        if (this.coalescer) this.rewind(topic, partition);
        throw e;
      }
    }
    resolveOffset(last);
  }

  /** Hands one (merged) batch to `handle`. */
  private async apply(batch: CoalescedBatch<RecordFingerprint>): Promise<void> {
    // Dropped while queued (a partition lost, a failure): its messages are read again by whoever owns it.
    if (this.failure || !this.consuming(batch.partition)) return;
    await this.opts.handle(batch);
    if (this.opts.meta) {
      let bytes = 0;
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      this.opts.meta.record('consumed', batch.topic, batch.messages.length, bytes);
    }
  }

  /** A timer flush failed: as for a failed batch (nothing of it applied), the partition is read again from the state's offset. */
  private flushFailed(batch: CoalescedBatch<RecordFingerprint>, e: unknown): void {
    const { topic, partition } = batch;
    if (e instanceof FencedError) {
      this.lose(topic, partition, e);
      return;
    }
    if (this.failure || !this.consuming(partition)) return;
    this.opts.logger.warn(`${topic}:${partition}: applying ${batch.messages.length} held messages failed: ${(e as Error).message}`);
    this.flushFailures.set(`${topic}:${partition}`, e);
    this.rewind(topic, partition);
  }

  /** Drops held messages and reads the partition again from the state's offset (they were resolved with KafkaJS). */
  private rewind(topic: string, partition: number): void {
    this.coalescer?.drop((t, p) => t === topic && p === partition);
    try {
      this.consumer.seek({ topic, partition, offset: this.expected(topic, partition).toString() });
    } catch (err) {
      // Not running (stopping): nothing more is read; the next start reads from the state's offset anyway.
      this.opts.logger.debug(`${topic}:${partition}: no seek back: ${(err as Error).message}`);
    }
  }

  /** Drops held messages (not applied: read again from the state's offset) of the selected partitions. */
  private dropHeld(which?: (topic: string, partition: number) => boolean): void {
    if (!this.coalescer) return;
    const n = this.coalescer.drop(which);
    for (const key of [...this.flushFailures.keys()]) {
      const i = key.lastIndexOf(':');
      if (!which || which(key.slice(0, i), Number(key.slice(i + 1)))) this.flushFailures.delete(key);
    }
    if (n) this.opts.logger.info(`dropped ${n} held messages (not applied: read again from the state's offsets)`);
  }

  /** Commits offsets (after the snapshot holding their effects is durable). Failure only delays the commit. */
  async commit(offsets: Record<string, Record<string, string>>): Promise<void> {
    // Only the topics consumed, and with several instances only the partitions this one owns: the broker
    // does not check ownership, so a commit for a partition that moved would set the new owner's offset back.
    const list = Object.entries(offsets)
      .filter(([topic]) => this.opts.topics.includes(topic))
      .flatMap(([topic, parts]) => Object.entries(parts).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })))
      .filter((o) => this.consuming(o.partition));
    if (list.length === 0) return;
    // The newest durable offsets seen: what a retry commits (never an older set after a newer one).
    this.newest = offsets;
    try {
      await this.consumer.commitOffsets(list);
      if (this.newest === offsets) this.retryPending = false;
    } catch (e) {
      // Retried after the next good heartbeat: when the state has no more changes, no later snapshot would
      // commit again, and the group's lag would never reach 0 (a stack run stalled so after a rebalance).
      this.retryPending = true;
      this.opts.logger.warn(`offset commit failed (kept in the snapshot; retried): ${(e as Error).message}`);
    }
  }

  private newest?: Record<string, Record<string, string>>;
  private retryPending = false;

  private retryCommit(): void {
    if (this.retryPending && this.newest && !this.failure) void this.commit(this.newest);
  }

  /**
   * The first step of a stop: stops fetching new batches and waits for the batch being handled to finish;
   * with coalescing, then applies the held messages (a stop's final snapshot holds them). One that fails is
   * dropped, not applied: the next start reads it again. Partitions claimed from now on are not consumed.
   */
  async pause(): Promise<void> {
    this.stopping = true;
    this.control('pausing for the stop', () => this.consumer.pause(this.opts.topics.map((topic) => ({ topic }))));
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    if (!this.coalescer) return;
    if (this.failure) this.dropHeld();
    else
      await this.coalescer.flushAll((batch, e) => {
        if (e instanceof FencedError) this.lose(batch.topic, batch.partition, e);
        else
          this.opts.logger.warn(
            `${batch.topic}:${batch.partition}: ${batch.messages.length} held messages not applied: ${(e as Error).message}`,
          );
      });
    await this.coalescer.settled();
  }

  /** Messages held for coalescing, not yet handed to `handle`. */
  heldMessages(): number {
    return this.coalescer?.heldCount() ?? 0;
  }

  async stop(): Promise<void> {
    // A claim still under way (the others left first and this member gained their partitions) ends without
    // touching the consumer: the partitions' next owner claims them anew.
    this.stopping = true;
    // Held messages are not applied (nor committed): the next owner reads them from the state's offset.
    this.dropHeld();
    await this.coalescer?.settled();
    await this.consumer.disconnect();
  }
}
