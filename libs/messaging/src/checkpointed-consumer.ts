import type { Consumer, KafkaMessage } from './kafkajs';
import { connectWithRetry } from './kafka-client';
import { FencedError, PartitionWriteError } from './partition-writer';
import type { CoalescedBatch } from './batch-coalescer';
import { checkStateAgainstTopics, RecordFingerprint, TopicLayout } from './start-checks';
import { PartitionTasks } from './partition-tasks';
import { OffsetCommits } from './offset-commits';
import { HeldBatches } from './held-batches';
import { BatchPositions } from './batch-positions';
import { PartitionClaims } from './partition-claims';
import { BatchFailures } from './batch-failures';
import { heartbeatIntervalOf, kafkaConsumer, whileHeartbeating, type CheckpointedConsumerOptions } from './consumer-options';
import { followTransactionMarkers } from './transaction-markers';

export { Checkpoint, fingerprint, RecordFingerprint, StateMismatchError, TopicLayoutError } from './start-checks';
export type { PartitionOwner } from './partition-claims';
export type { CheckpointedConsumerOptions, PartitionBatch } from './consumer-options';

/**
 * Nothing of the batch was applied and the partition's writer cannot be used again: fenced by a newer owner,
 * or given up on (a producer stuck in a transaction state). Either way the partition stops at once and, if the
 * group still assigns it here, is claimed again with a new writer.
 */
function needsNewWriter(e: unknown): e is FencedError | PartitionWriteError {
  return e instanceof FencedError || (e instanceof PartitionWriteError && e.retriable);
}

/**
 * A KafkaJS consumer whose position comes from the service's own state, not from Kafka's committed
 * offsets: messages below the checkpoint are dropped, and each (re)assigned partition is sought to the
 * checkpoint. Committed offsets are therefore only a hint and for lag monitoring; a crash between snapshot
 * and commit cannot count anything twice. The jobs around it live beside it: start-time checks
 * (start-checks.ts), which partitions are whose (partition-tasks.ts, partition-claims.ts), commits
 * (offset-commits.ts), coalescing (held-batches.ts), transaction markers (transaction-markers.ts) and the KafkaJS
 * consumer's settings (consumer-options.ts).
 */
export class CheckpointedConsumer {
  readonly consumer: Consumer;
  private layout?: TopicLayout;
  /** What of each fetched batch is new to the state. */
  private readonly positions = new BatchPositions();
  private readonly tasks: PartitionTasks;
  private readonly claims: PartitionClaims;
  private readonly commits: OffsetCommits;
  private readonly held?: HeldBatches;
  private readonly failures: BatchFailures;
  private failure?: Error;
  private onFailure?: (e: Error) => void;
  /** Resolves (never rejects) with the error that ended consumption: a state that does not belong to the topics, a permanent failure. */
  readonly failed: Promise<Error> = new Promise((resolve) => (this.onFailure = resolve));
  private active = 0;
  private idle?: () => void;
  /** Messages dropped because the state already held them (replays after a crash). */
  get skippedReplays(): number {
    return this.positions.skippedReplays;
  }
  /** Set once the stop began: nothing resumes fetching any more. */
  private stopping = false;

  constructor(private readonly opts: CheckpointedConsumerOptions) {
    this.tasks = new PartitionTasks();
    this.consumer = kafkaConsumer(opts, this.tasks);
    this.commits = new OffsetCommits(this.consumer, opts.topics, (p) => this.consuming(p), opts.logger);
    this.failures = new BatchFailures(opts);
    this.claims = new PartitionClaims({
      ...opts,
      consumer: this.consumer,
      tasks: this.tasks,
      startOffset: (topic, p) => this.expected(topic, p).toString(),
      settled: (lost) => this.held?.coalescer.settled((_t, p) => lost.includes(p)) ?? Promise.resolve(),
      isStopping: () => this.stopping,
      fail: (e) => this.fail(e),
      failure: () => this.failure,
      control: (what, call) => this.control(what, call),
    });
    if (opts.coalesce && opts.coalesce.maxMs > 0) {
      this.held = new HeldBatches(
        opts.coalesce,
        (batch) => this.apply(batch),
        (batch, e) => {
          if (!this.loseIfFenced(batch, e) && !this.failure && this.consuming(batch.partition)) this.held?.failed(batch, e);
        },
        (topic, partition) => this.control(`${topic}:${partition}: seeking back`, () => this.seekToState(topic, partition)),
        opts.logger,
      );
    }
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment));
    followTransactionMarkers(this.consumer, {
      ...opts,
      held: this.held,
      applies: (p) => !this.failure && this.consuming(p),
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
      if (this.opts.owner) this.claims.reclaimFenced();
      if (!this.failure) void this.commits.retry();
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.control('pausing after a failure', () => this.consumer.pause(this.opts.topics.map((topic) => ({ topic }))));
    this.held?.drop();
    this.opts.logger.error(e.message);
    this.onFailure?.(e);
  }

  /**
   * Calls KafkaJS's pause, resume or seek, which throw while its consumer group is not there: between a
   * crash and its restart, or once stopped. Returns false then, having done nothing: the restarted
   * consumer's join pauses, seeks and claims everything again from the partition tasks (KafkaJS forgets its
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

  private consuming(partition: number): boolean {
    return !this.opts.owner || this.tasks.isRunning(partition);
  }

  private onJoin(assignment: Record<string, number[]>): void {
    this.positions.joined();
    // Every partition is read again from the state's offset after a join (seeks, or by a new owner): held
    // messages are not in the state, so they are dropped, not applied; they come again.
    this.held?.drop();
    const change = this.claims.onJoin(assignment, this.layout as TopicLayout);
    if (!change) return;
    this.commits.onJoin(
      [...change.lost, ...change.gained],
      Object.entries(assignment).flatMap(([topic, parts]) =>
        // Only where the state holds something: a commit says where some state really is, never before a snapshot.
        parts
          .filter((p) => change.gained.includes(p) && this.opts.checkpoint.nextOffset(topic, p) !== undefined)
          .map((partition) => ({ topic, partition, offset: this.expected(topic, partition).toString() })),
      ),
    );
  }

  private seekToState(topic: string, partition: number): void {
    this.consumer.seek({ topic, partition, offset: this.expected(topic, partition).toString() });
  }

  private expected(topic: string, partition: number): bigint {
    return BigInt(this.opts.checkpoint.nextOffset(topic, partition) ?? this.layout?.start(topic, partition) ?? '0');
  }

  /** `batchEnd`: the batch's last offset, past its last message when transaction markers follow that. */
  private async onBatch(topic: string, partition: number, messages: KafkaMessage[], resolveOffset: (o: string) => void, batchEnd: string) {
    // Stopping: a fetch already under way (or a restarted KafkaJS consumer, which forgot the pause) is not
    // applied; the partition is read from the state's offset next time.
    if (this.failure || this.stopping || !this.consuming(partition)) return;
    const key = `${topic}:${partition}`;
    // A timer flush of this partition failed (its messages are read again from here): fail this batch as that
    // flush would have failed it, so it is retried (and given up) as any batch.
    const flushFailure = this.held?.takeFailure(topic, partition);
    if (flushFailure) throw flushFailure;
    // Messages held or being applied are past the state's offset: what follows them is new, the rest a replay.
    const pending = this.held?.coalescer.pendingNextOffset(topic, partition);
    const stateOffset = this.expected(topic, partition);
    const verdict = this.positions.classify(
      topic,
      partition,
      messages,
      batchEnd,
      stateOffset,
      pending !== undefined ? BigInt(pending) : stateOffset,
    );
    if ('seekBack' in verdict) {
      // Kafka's committed offset is past our state (state deleted or older): go back and rebuild.
      this.opts.logger.warn(`${key}: consumer started at ${messages[0].offset}, state continues at ${verdict.seekBack}: seeking back`);
      this.seekToState(topic, partition);
      return;
    }
    const { batch, last } = verdict;
    if (batch) {
      try {
        if (this.held) {
          // Resolved with KafkaJS once held, so that fetching goes on; applied later, merged.
          if ((await this.held.coalescer.add(batch)) === 'stale') return;
        } else await this.apply(batch);
        this.failures.succeeded(key);
      } catch (e) {
        if (this.loseIfFenced({ topic, partition }, e)) return;
        // Held messages before this batch were resolved with KafkaJS already: read them all again.
        this.held?.rewind(topic, partition);
        // A permanent error, or one that kept failing too long, fails the service; others are retried by KafkaJS.
        const fatal = this.failures.failed(key, batch.messages[0].offset, e);
        if (!fatal) throw e;
        this.fail(fatal);
        return;
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
      // The fast records tell their value's size without making a Buffer of it (kafkajs-fast-record-decoder.ts).
      for (const m of batch.messages) bytes += (m as { valueSize?: number }).valueSize ?? m.value?.length ?? 0;
      this.opts.meta.record('consumed', batch.topic, batch.messages.length, bytes);
    }
  }

  /**
   * When the batch's partition writer cannot be used again (needsNewWriter): stops consuming the partition at
   * once (nothing of the batch was applied) and says so.
   */
  private loseIfFenced(batch: { topic: string; partition: number }, e: unknown): boolean {
    if (!needsNewWriter(e)) return false;
    this.held?.drop((_t, p) => p === batch.partition);
    this.claims.fenced(batch.topic, batch.partition, e);
    return true;
  }

  /** Commits offsets (after the snapshot holding their effects is durable). Failure only delays the commit. */
  commit(offsets: Record<string, Record<string, string>>): Promise<void> {
    return this.commits.commit(offsets);
  }

  /**
   * The first step of a stop: stops fetching new batches and waits for the batch being handled to finish;
   * with coalescing, then applies the held messages (a stop's final snapshot holds them). One that fails is
   * dropped, not applied: the next start reads it again. Partitions claimed from now on are not consumed.
   */
  async beginStop(): Promise<void> {
    this.stopping = true;
    this.tasks.stop();
    this.control('pausing for the stop', () => this.consumer.pause(this.opts.topics.map((topic) => ({ topic }))));
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    if (this.failure) this.held?.drop();
    else await this.held?.applyAll((batch, e) => this.loseIfFenced(batch, e));
    await this.held?.coalescer.settled();
  }

  /** Messages held for coalescing, not yet handed to `handle`. */
  heldMessages(): number {
    return this.held?.coalescer.heldCount() ?? 0;
  }

  /** Partition indices consumed here now (claimed, restored, not fenced), each with when it was claimed (ms): a new claim, a new time. */
  runningPartitions(): ReadonlyMap<number, number> {
    return this.tasks.claimedAt();
  }

  /** Each partition task's state (claiming, running, …), for logs and health. */
  taskStates(): Record<number, string> {
    return this.tasks.states();
  }

  async start(): Promise<void> {
    const { topics, logger } = this.opts;
    this.layout = await checkStateAgainstTopics(this.opts);
    // Partitions the saved state holds: released on the first join unless assigned.
    this.tasks.load(
      [...Array(this.layout.counts.get(topics[0]) ?? 0).keys()].filter((p) =>
        topics.some((t) => this.opts.checkpoint.nextOffset(t, p) !== undefined),
      ),
    );
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
          // KafkaJS heartbeats only between batches: a handler waiting on a database or a broker would lose the
          // member its place in the group after the session timeout.
          await whileHeartbeating(
            heartbeat,
            logger,
            () => this.onBatch(batch.topic, batch.partition, batch.messages, resolveOffset, batch.lastOffset()),
            heartbeatIntervalOf(this.opts),
          );
        } finally {
          if (--this.active === 0) this.idle?.();
          // The batch's records go now, not when the fetch's last batch is handled (kafkajs-batch.ts).
          (batch as { release?: () => void }).release?.();
        }
      },
    });
  }

  async stop(): Promise<void> {
    // A claim still under way (the others left first and this member gained their partitions) ends without
    // touching the consumer: the partitions' next owner claims them anew.
    this.stopping = true;
    this.tasks.stop();
    // Held messages are not applied (nor committed): the next owner reads them from the state's offset.
    this.held?.drop();
    await this.held?.coalescer.settled();
    await this.consumer.disconnect();
  }
}
