// Carries out what the partition tasks decide when the group changes: seek what is kept, pause what is gained
// until its state is claimed, release what is lost, claim again what was fenced. Claims and releases run one
// after another, in the order the group changed; a claim superseded by a newer join is aborted.
import type { Logger } from '@movie-stream/logging';
import type { Consumer } from './kafkajs';
import { retryForever } from './kafka-client';
import { FencedError, type PartitionWriteError } from './partition-writer';
import type { PartitionTasks } from './partition-tasks';
import { StateMismatchError, TopicLayout, TopicLayoutError } from './start-checks';

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

export interface PartitionClaimsOptions {
  owner?: PartitionOwner;
  consumer: Pick<Consumer, 'seek' | 'pause' | 'resume'>;
  tasks: PartitionTasks;
  topics: string[];
  groupId: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Where the state continues in a partition. */
  startOffset(topic: string, partition: number): string;
  /** Waits for work on these partitions to end before their state goes (a coalesced flush). */
  settled(lost: number[]): Promise<void>;
  isStopping(): boolean;
  /** Ends consumption: the service fails with `e`. */
  fail(e: Error): void;
  failure(): Error | undefined;
  /** Calls KafkaJS's pause, resume or seek; false when its consumer is not running (see CheckpointedConsumer.control). */
  control(what: string, call: () => void): boolean;
}

type Assignment = Record<string, number[]>;

export class PartitionClaims {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PartitionClaimsOptions) {}

  /** A join's assignment: returns what changed, or undefined when the assignment cannot belong to the state. */
  onJoin(assignment: Assignment, layout: TopicLayout): { gained: number[]; lost: number[] } | undefined {
    const { owner, tasks, logger, groupId } = this.opts;
    const indices = new Set<number>();
    const problems: string[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      const count = layout.counts.get(topic);
      for (const p of partitions) {
        indices.add(p);
        if (count !== undefined && p >= count) problems.push(`${topic} has partition ${p} now, the state was built on ${count} partitions`);
      }
    }
    if (problems.length) {
      this.opts.fail(new StateMismatchError([...new Set(problems)]));
      return undefined;
    }
    if (!owner) {
      // One instance owns everything: the saved state's partitions are all its own.
      const j = tasks.join(indices);
      tasks.claimed(j.gained, j.generation);
      const positions = this.seek(assignment, [...indices]);
      logger.info("joined consumer group; positioned at the state's offsets", { groupId, positions });
      return { gained: [], lost: [] };
    }
    const change = tasks.join(indices);
    const { gained, lost, generation, signal } = change;
    // Gained partitions wait (paused) until their state is claimed; kept ones continue where the state is.
    if (gained.length) this.opts.consumer.pause(topicPartitions(assignment, gained));
    logger.info('joined consumer group', {
      groupId,
      partitions: [...indices].sort((a, b) => a - b),
      gained,
      lost,
      kept: this.seek(assignment, change.kept),
    });
    this.chain = this.chain
      .then(async () => {
        if (lost.length) {
          await this.opts.settled(lost);
          await owner.release(lost);
          tasks.released(lost);
        }
        if (gained.length === 0) return;
        await this.claim(owner, gained, signal);
        this.consumeClaimed(gained, generation, assignment, "claimed partitions; consuming them from the state's offsets");
      })
      .catch((e: Error) => this.stepFailed(e, lost, gained, signal));
    return { gained, lost };
  }

  /** After a good heartbeat: claims again the fenced partitions the group still assigns here (a zombie took their id). */
  reclaimFenced(): void {
    const { owner, tasks } = this.opts;
    if (!owner || this.opts.failure()) return;
    const { partitions, generation, signal } = tasks.reclaim();
    if (partitions.length === 0) return;
    const assignment: Assignment = Object.fromEntries(this.opts.topics.map((t) => [t, partitions]));
    this.chain = this.chain
      .then(async () => {
        await this.claim(owner, partitions, signal);
        this.consumeClaimed(
          partitions,
          generation,
          assignment,
          `claimed partitions ${partitions.join(', ')} again after their transactions were fenced`,
        );
      })
      .catch((e: Error) => this.stepFailed(e, [], partitions, signal));
  }

  /**
   * A newer owner fenced this partition's writes, or its writer gave up: stop consuming it at once (nothing of
   * the batch was applied); claimed again with a new writer after a good heartbeat if still assigned here.
   */
  fenced(topic: string, partition: number, e: FencedError | PartitionWriteError): void {
    this.opts.tasks.fence(partition);
    this.opts.control(`pausing fenced partition ${partition}`, () =>
      this.opts.consumer.pause(this.opts.topics.map((t) => ({ topic: t, partitions: [partition] }))),
    );
    if (e instanceof FencedError)
      this.opts.logger.warn(`${topic}:${partition}: partition lost: ${e.message}; not consuming it unless the group still assigns it`);
    else
      this.opts.logger.warn(
        `${topic}:${partition}: its writer gave up (${e.message}); claiming it again with a new writer if the group still assigns it`,
      );
  }

  private consumeClaimed(claimed: number[], generation: number, assignment: Assignment, what: string): void {
    if (this.opts.failure()) return;
    if (this.opts.isStopping()) {
      this.opts.logger.info(`stopping: partitions ${claimed.join(', ')} claimed after the stop began; not consumed here`);
      return;
    }
    // Only what is still this claim's: a later join decides for itself about the rest.
    const now = this.opts.tasks.claimed(claimed, generation);
    if (now.length === 0) return;
    let positions: string[] = [];
    const resumed = this.opts.control(`resuming claimed partitions`, () => {
      positions = this.seek(assignment, now);
      this.opts.consumer.resume(topicPartitions(assignment, now));
    });
    if (resumed) this.opts.logger.info(what, { positions });
  }

  private seek(assignment: Assignment, indices: number[]): string[] {
    return Object.entries(assignment).flatMap(([topic, parts]) =>
      parts
        .filter((p) => indices.includes(p))
        .map((partition) => {
          const offset = this.opts.startOffset(topic, partition);
          this.opts.consumer.seek({ topic, partition, offset });
          return `${topic}:${partition}@${offset}`;
        }),
    );
  }

  /**
   * Claims partitions, retrying what a broker may fail for a while (a leader election, a coordinator moving):
   * each attempt fences again and restores again, which keeps the order fence-then-restore. Stops as soon as a
   * newer join supersedes it (no more fencing of the partition's new owner). A state that does not belong to
   * the topics is no transient failure: it stops the service.
   */
  private async claim(owner: PartitionOwner, partitions: number[], joinSignal: AbortSignal): Promise<void> {
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, joinSignal]) : joinSignal;
    const refused = await retryForever(
      `claiming partitions ${partitions.join(', ')}`,
      async () => {
        if (joinSignal.aborted) throw joinSignal.reason;
        try {
          await owner.claim(partitions);
          return undefined;
        } catch (e) {
          if (e instanceof StateMismatchError || e instanceof TopicLayoutError) return e;
          throw e;
        }
      },
      this.opts.logger,
      signal,
    );
    if (refused) throw refused;
  }

  /**
   * A release or claim failed. Superseded by a newer join, or cut short by the stop (a stopping member gains
   * partitions when the others leave first): nothing was consumed from them, the next owner claims them anew,
   * so it is no failure of the service.
   */
  private stepFailed(e: Error, released: number[], claimed: number[], joinSignal: AbortSignal): void {
    const what = [released.length ? `release of ${released.join(', ')}` : '', claimed.length ? `claim of ${claimed.join(', ')}` : '']
      .filter(Boolean)
      .join(' and ');
    if (this.opts.signal?.aborted || this.opts.isStopping()) {
      this.opts.logger.info(`stopping: partition ${what || 'ownership change'} not finished (${e.message})`);
      return;
    }
    if (joinSignal.aborted && !(e instanceof StateMismatchError || e instanceof TopicLayoutError)) {
      this.opts.logger.info(`partition ${what} superseded by a newer join (${e.message})`);
      return;
    }
    this.opts.fail(e);
  }
}

function topicPartitions(assignment: Assignment, indices: number[]): { topic: string; partitions: number[] }[] {
  return Object.entries(assignment)
    .map(([topic, parts]) => ({ topic, partitions: parts.filter((p) => indices.includes(p)) }))
    .filter((tp) => tp.partitions.length > 0);
}
