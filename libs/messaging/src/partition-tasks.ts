// Which partitions this member works on, one task per partition index with an explicit state (the cut Kafka
// Streams makes with its TaskManager). Pure: no broker, no timers; the consumer feeds it joins, claims, fences
// and the stop, and asks it what to claim, release, consume and advertise.
//
//   loaded ──join──▶ claiming ──claimed──▶ running ──fenced──▶ fenced ──reclaim──▶ claiming
//      any ──join without it──▶ releasing ──released──▶ (gone)
//
// A partition index p stands for partition p of every consumed topic (they are co-partitioned).

export type TaskState =
  /** Its state came from the saved snapshot; not assigned yet (the first join keeps or releases it). */
  | 'loaded'
  /** Being claimed: its writer fenced and its state restored; not consumed yet. */
  | 'claiming'
  /** Claimed and consumed. */
  | 'running'
  /** Its writer was fenced by another (or gave up) while the group still assigns it here: claimed again after a good heartbeat. */
  | 'fenced'
  /** No longer assigned here: its state is being dropped. */
  | 'releasing';

export interface PartitionTask {
  readonly partition: number;
  state: TaskState;
  /** The join (or reclaim) whose claim this task waits for; a claim of another generation is superseded. */
  generation: number;
  /** When its last claim finished (ms since the epoch): a partition advertised by two members goes to the later claim. */
  claimedAt?: number;
}

/** What a join changed, and the signal that aborts its claims once a newer join (or the stop) supersedes them. */
export interface JoinChange {
  generation: number;
  gained: number[];
  lost: number[];
  kept: number[];
  signal: AbortSignal;
}

const byNumber = (a: number, b: number) => a - b;

export class PartitionTasks {
  private readonly tasks = new Map<number, PartitionTask>();
  private assigned = new Set<number>();
  private generation = 0;
  private current = new AbortController();
  private stopping = false;

  /** `saved`: partitions the saved state holds data of. */
  constructor(
    saved: Iterable<number> = [],
    private readonly now: () => number = Date.now,
  ) {
    this.load(saved);
  }

  /** Partitions the saved state holds data of, before the first join. */
  load(saved: Iterable<number>): void {
    for (const p of saved) if (!this.tasks.has(p)) this.tasks.set(p, { partition: p, state: 'loaded', generation: 0 });
  }

  /**
   * The group assigned `indices`. Every task not among them is released (whatever its state); every one among
   * them that is not running is claimed anew; claims of earlier joins are aborted (one abort per join), so a
   * superseded claim never fences the partition's new owner again.
   */
  join(indices: Iterable<number>): JoinChange {
    this.current.abort(new Error('superseded by a newer join'));
    this.current = new AbortController();
    const generation = ++this.generation;
    this.assigned = new Set(indices);
    const lost: number[] = [];
    const gained: number[] = [];
    const kept: number[] = [];
    for (const task of this.tasks.values()) {
      if (this.assigned.has(task.partition) || task.state === 'releasing') continue;
      task.state = 'releasing';
      task.generation = generation;
      lost.push(task.partition);
    }
    for (const p of this.assigned) {
      const task = this.tasks.get(p);
      if (task?.state === 'running') {
        kept.push(p);
        continue;
      }
      this.tasks.set(p, { partition: p, state: 'claiming', generation });
      gained.push(p);
    }
    if (this.stopping) this.current.abort(new Error('stopping'));
    return { generation, gained: gained.sort(byNumber), lost: lost.sort(byNumber), kept: kept.sort(byNumber), signal: this.current.signal };
  }

  /**
   * A claim of `generation` finished: true when its partitions are to be consumed now (the ones still
   * claiming in that generation; not during a stop). A superseded claim changes nothing.
   */
  claimed(partitions: number[], generation: number): number[] {
    if (this.stopping) return [];
    const now: number[] = [];
    for (const p of partitions) {
      const task = this.tasks.get(p);
      if (task?.state !== 'claiming' || task.generation !== generation) continue;
      task.state = 'running';
      task.claimedAt = this.now();
      now.push(p);
    }
    return now;
  }

  /** Their state was dropped. A partition gained again by a later join meanwhile keeps its new task. */
  released(partitions: number[]): void {
    for (const p of partitions) if (this.tasks.get(p)?.state === 'releasing') this.tasks.delete(p);
  }

  /** Its writes were fenced: stop consuming it at once. False when it was not running. */
  fence(partition: number): boolean {
    const task = this.tasks.get(partition);
    if (task?.state !== 'running') return false;
    task.state = 'fenced';
    return true;
  }

  /**
   * After a good heartbeat (still in the generation that assigned them): the fenced partitions the group still
   * assigns here, to be claimed again under the current join's signal.
   */
  reclaim(): { partitions: number[]; generation: number; signal: AbortSignal } {
    const partitions: number[] = [];
    if (!this.stopping)
      for (const task of this.tasks.values())
        if (task.state === 'fenced' && this.assigned.has(task.partition)) {
          task.state = 'claiming';
          task.generation = this.generation;
          partitions.push(task.partition);
        }
    return { partitions: partitions.sort(byNumber), generation: this.generation, signal: this.current.signal };
  }

  /** The stop began: claims under way are aborted, none ends in running. */
  stop(): void {
    this.stopping = true;
    this.current.abort(new Error('stopping'));
  }

  isRunning(partition: number): boolean {
    return this.tasks.get(partition)?.state === 'running';
  }

  /** Partitions consumed here (advertised in the join metadata, so that the assignment stays sticky). */
  running(): Set<number> {
    return new Set([...this.tasks.values()].filter((t) => t.state === 'running').map((t) => t.partition));
  }

  /** When each running task was claimed, for the join metadata. */
  claimedAt(): Map<number, number> {
    const at = new Map<number, number>();
    for (const t of this.tasks.values()) if (t.state === 'running' && t.claimedAt !== undefined) at.set(t.partition, t.claimedAt);
    return at;
  }

  isAssigned(partition: number): boolean {
    return this.assigned.has(partition);
  }

  state(partition: number): TaskState | undefined {
    return this.tasks.get(partition)?.state;
  }

  /** Every task's state, for logs and the health endpoint. */
  states(): Record<number, TaskState> {
    return Object.fromEntries([...this.tasks.values()].sort((a, b) => a.partition - b.partition).map((t) => [t.partition, t.state]));
  }
}
