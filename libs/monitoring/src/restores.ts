// Partition restores as the services report them on the meta topic (MetaReport's restore actions): the
// ones in progress and the last ones finished, per service instance, for the dashboard's "Partition
// restores" table. Bounded: a monitor runs for days while instances come and go.

/** A decoded restore report (MetaReport with ACTION_RESTORE_STARTED or ACTION_RESTORE_FINISHED). */
export interface RestoreEvent {
  action: 'restore-started' | 'restore-finished';
  service: string;
  instanceId: string;
  groupId: string;
  /** The topic whose partition index was restored (the co-partitioned topics share it). */
  topic: string;
  partition: number;
  /** When the restore began (epoch ms). */
  startedMs: number;
  /** Finished only: when it ended, where the state came from, what it read and restored, how long it took. */
  finishedMs?: number;
  source?: string;
  recordsRead?: number;
  rowsRestored?: number;
  ms?: number;
}

/** One row of the table: a restore in progress (no finishedMs) or finished. */
export type RestoreView = Omit<RestoreEvent, 'action'>;

export interface RestoresState {
  /** Oldest start first: the one waited for longest on top. */
  inProgress: RestoreView[];
  /** Newest end first. */
  recent: RestoreView[];
}

export interface RestoreTrackerOptions {
  /** Finished restores kept per instance. */
  keepPerInstance?: number;
  /** Most finished restores in a view (over all instances). */
  recentLimit?: number;
  /** Restores whose last news is older than this (before the newest report) are dropped, in progress or not. */
  retentionMs?: number;
}

const SEP = '\u0000';

export class RestoreTracker {
  /** instance → group+partition → the restore in progress. */
  private readonly running = new Map<string, Map<string, RestoreView>>();
  /** instance → finished restores, oldest first. */
  private readonly finished = new Map<string, RestoreView[]>();
  private newest = 0;
  private readonly keep: number;
  private readonly limit: number;
  private readonly retentionMs: number;

  constructor(opts: RestoreTrackerOptions = {}) {
    this.keep = opts.keepPerInstance ?? 20;
    this.limit = opts.recentLimit ?? 50;
    this.retentionMs = opts.retentionMs ?? 30 * 60_000;
  }

  add(e: RestoreEvent): void {
    const { action, ...view } = e;
    const instance = [e.service, e.instanceId].join(SEP);
    const partition = [e.groupId, e.partition].join(SEP);
    // One owner restores a partition at a time: a restore of it that began later supersedes an unfinished
    // older one elsewhere (that instance crashed or lost the partition mid-restore and will not finish it).
    for (const [other, runs] of this.running) {
      const r = runs.get(partition);
      if (r && other !== instance && r.startedMs <= e.startedMs) runs.delete(partition);
    }
    if (action === 'restore-started') {
      const runs = this.running.get(instance) ?? new Map<string, RestoreView>();
      runs.set(partition, view);
      this.running.set(instance, runs);
    } else {
      this.running.get(instance)?.delete(partition);
      const list = this.finished.get(instance) ?? [];
      list.push(view);
      if (list.length > this.keep) list.shift();
      this.finished.set(instance, list);
    }
    const at = e.finishedMs ?? e.startedMs;
    if (at > this.newest) {
      this.newest = at;
      this.prune();
    }
  }

  private prune(): void {
    const cutoff = this.newest - this.retentionMs;
    for (const [k, runs] of this.running) {
      for (const [p, r] of runs) if (r.startedMs < cutoff) runs.delete(p);
      if (runs.size === 0) this.running.delete(k);
    }
    for (const [k, list] of this.finished) {
      const kept = list.filter((r) => (r.finishedMs ?? r.startedMs) >= cutoff);
      if (kept.length) this.finished.set(k, kept);
      else this.finished.delete(k);
    }
  }

  view(): RestoresState {
    const inProgress = [...this.running.values()].flatMap((runs) => [...runs.values()]);
    inProgress.sort((a, b) => a.startedMs - b.startedMs || order(a, b));
    const recent = [...this.finished.values()].flat();
    recent.sort((a, b) => (b.finishedMs ?? 0) - (a.finishedMs ?? 0) || order(a, b));
    return { inProgress, recent: recent.slice(0, this.limit) };
  }
}

const order = (a: RestoreView, b: RestoreView) =>
  a.service.localeCompare(b.service) ||
  a.instanceId.localeCompare(b.instanceId) ||
  a.groupId.localeCompare(b.groupId) ||
  a.partition - b.partition;
