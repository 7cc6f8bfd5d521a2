// Commits of a consumer's offsets to Kafka: where durable state stands, never further. Kafka's committed offsets
// are a hint here (lag, a run's "drained"): the state says where consumption continues.
import type { Logger } from '@movie-stream/logging';
import type { Consumer } from './kafkajs';
import { ConditionStreaks, reportRetriedFailure } from './expected-conditions';

type Offsets = Record<string, Record<string, string>>;
interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export class OffsetCommits {
  /** The newest durable offsets seen: what a retry commits (never an older set after a newer one). */
  private newest?: Offsets;
  private retryPending = false;
  /** Positions of gained partitions, committed at the next good heartbeat (see `onJoin`). */
  private joinPositions = new Map<string, Position>();
  /** Partitions a durable commit covered since the last join-position commit began. */
  private readonly durableSinceRetry = new Set<string>();
  /** A commit during a rebalance or a coordinator move is expected: debug, until one goes on too long. */
  private readonly failures = new ConditionStreaks();

  constructor(
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly topics: string[],
    /** With several instances only the partitions this one consumes: the broker does not check ownership. */
    private readonly owns: (partition: number) => boolean,
    private readonly logger: Logger,
  ) {}

  /** Commits offsets (after the state holding their effects is durable). Failure only delays the commit. */
  async commit(offsets: Offsets): Promise<void> {
    // A commit for a partition that moved would set the new owner's offset back.
    const list = Object.entries(offsets)
      .filter(([topic]) => this.topics.includes(topic))
      .flatMap(([topic, parts]) => Object.entries(parts).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })))
      .filter((o) => this.owns(o.partition));
    if (list.length === 0) return;
    // A durable state's offsets supersede a gained partition's position from its join, which may be older now.
    for (const o of list) {
      this.joinPositions.delete(`${o.topic}:${o.partition}`);
      this.durableSinceRetry.add(`${o.topic}:${o.partition}`);
    }
    this.newest = offsets;
    try {
      await this.consumer.commitOffsets(list);
      if (this.newest === offsets) this.retryPending = false;
    } catch (e) {
      // Retried after the next good heartbeat: when the state has no more changes, no later snapshot would
      // commit again, and the group's lag would never reach 0 (a stack run stalled so after a rebalance).
      this.retryPending = true;
      reportRetriedFailure(
        this.logger,
        this.failures,
        'commit',
        `offset commit failed (kept in the state; retried): ${(e as Error).message}`,
        e,
      );
    }
  }

  /**
   * Partitions gained by a join: the group's offsets are the previous owner's, and this member may rebuild from
   * further back. Committed where this state stands, so that lag (and a run's "drained") says what this owner
   * has. Not at once: KafkaJS ignores a commit while its consumer is not running, as during the first join.
   */
  onJoin(moved: number[], positions: Position[]): void {
    const gone = new Set(moved.map(String));
    if (this.newest)
      this.newest = Object.fromEntries(
        Object.entries(this.newest).map(([topic, parts]) => [
          topic,
          Object.fromEntries(Object.entries(parts).filter(([p]) => !gone.has(p))),
        ]),
      );
    // The kept partitions' newest durable offsets are committed again after the join: KafkaJS resolves a commit
    // made while its consumer restarts without sending it, and with no later snapshot (the input all read)
    // nothing else would commit them (a broker-kill run's lag stayed at one member's whole share).
    if (this.newest && Object.values(this.newest).some((parts) => Object.keys(parts).length > 0)) this.retryPending = true;
    for (const key of [...this.joinPositions.keys()]) if (gone.has(key.slice(key.lastIndexOf(':') + 1))) this.joinPositions.delete(key);
    for (const p of positions) this.joinPositions.set(`${p.topic}:${p.partition}`, p);
  }

  /** After a good heartbeat (the consumer is running and in its generation): commits what is still due. */
  async retry(): Promise<void> {
    if (this.joinPositions.size) {
      const positions = [...this.joinPositions.values()];
      this.joinPositions.clear();
      this.durableSinceRetry.clear();
      await this.consumer.commitOffsets(positions).catch((e: Error) => {
        this.logger.debug(`commit of gained partitions' positions failed (retried): ${e.message}`);
        // Again at the next heartbeat, unless a join or a durable commit said something newer meanwhile.
        for (const p of positions) {
          const key = `${p.topic}:${p.partition}`;
          if (!this.joinPositions.has(key) && !this.durableSinceRetry.has(key)) this.joinPositions.set(key, p);
        }
      });
    }
    if (this.retryPending && this.newest) await this.commit(this.newest);
  }
}
