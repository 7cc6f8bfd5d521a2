// Burrow-style consumer status from a window of offset samples (https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules),
// adapted to what KafkaJS admin can see: committed and end offsets per partition (no commit timestamps,
// so "no commits" means "the committed offset did not move").

export type GroupStatus = 'OK' | 'WARNING' | 'STALLED' | 'STOPPED';

import type { PartitionLag } from '@movie-stream/messaging';

/** Committed and end offset and lag of one partition, as libs/messaging's consumerLag computes them. */
export type PartitionOffsets = PartitionLag;

export interface LagSample {
  /** Epoch ms of the poll. */
  t: number;
  partitions: PartitionOffsets[];
  /** Group state from describeGroups (Stable, Empty, PreparingRebalance, ...), when known. */
  state?: string;
}

export interface StatusRules {
  /** A committed offset unchanged this long while the partition lags: STALLED. */
  stallAfterMs: number;
  /** Unchanged this long (or the group has no members) while it lags: STOPPED. */
  stopAfterMs: number;
  /** Samples needed before WARNING can be judged (lag growing at every step). */
  minSamples: number;
}

export const DEFAULT_RULES: StatusRules = { stallAfterMs: 15_000, stopAfterMs: 60_000, minSamples: 4 };

const RANK: Record<GroupStatus, number> = { OK: 0, WARNING: 1, STALLED: 2, STOPPED: 3 };
export const worst = (a: GroupStatus, b: GroupStatus): GroupStatus => (RANK[b] > RANK[a] ? b : a);

export interface PartitionStatus {
  topic: string;
  partition: number;
  status: GroupStatus;
  lag: number;
  reason: string;
}

/**
 * Status of one partition over the samples (oldest first). Rules, first match wins:
 * lag 0 now → OK; committed unchanged ≥ stopAfterMs → STOPPED; unchanged ≥ stallAfterMs → STALLED;
 * lag grew at every step of ≥ minSamples samples → WARNING; else OK (lag is being worked off).
 */
export function partitionStatus(
  history: { t: number; committed: number; lag: number }[],
  rules: StatusRules = DEFAULT_RULES,
): { status: GroupStatus; reason: string } {
  const last = history[history.length - 1];
  if (!last) return { status: 'OK', reason: 'no samples' };
  if (last.lag === 0) return { status: 'OK', reason: 'caught up' };
  // How long the committed offset has stood still (up to the oldest sample we hold).
  let since = last.t;
  for (let i = history.length - 2; i >= 0 && history[i].committed === last.committed; i--) since = history[i].t;
  const still = last.t - since;
  if (still >= rules.stopAfterMs) return { status: 'STOPPED', reason: `no commit for ${Math.round(still / 1000)} s, lag ${last.lag}` };
  if (still >= rules.stallAfterMs)
    return { status: 'STALLED', reason: `committed offset stuck for ${Math.round(still / 1000)} s, lag ${last.lag}` };
  if (history.length >= rules.minSamples) {
    const w = history.slice(-rules.minSamples);
    if (w.every((s, i) => i === 0 || s.lag > w[i - 1].lag))
      return { status: 'WARNING', reason: `lag grew at each of the last ${rules.minSamples} samples to ${last.lag}` };
  }
  return { status: 'OK', reason: 'consuming' };
}

export interface GroupEvaluation {
  status: GroupStatus;
  totalLag: number;
  reason: string;
  partitions: PartitionStatus[];
}

/** The group's status is its worst partition's; a group without members that still lags is STOPPED. */
export function groupStatus(samples: LagSample[], rules: StatusRules = DEFAULT_RULES): GroupEvaluation {
  const last = samples[samples.length - 1];
  if (!last) return { status: 'OK', totalLag: 0, reason: 'no samples', partitions: [] };
  const partitions: PartitionStatus[] = [];
  for (const p of last.partitions) {
    const history: { t: number; committed: number; lag: number }[] = [];
    for (const s of samples) {
      const q = s.partitions.find((x) => x.topic === p.topic && x.partition === p.partition);
      if (q) history.push({ t: s.t, committed: q.committed, lag: q.lag });
    }
    partitions.push({ topic: p.topic, partition: p.partition, lag: p.lag, ...partitionStatus(history, rules) });
  }
  const totalLag = last.partitions.reduce((s, p) => s + p.lag, 0);
  let status: GroupStatus = 'OK';
  let reason = totalLag === 0 ? 'caught up' : 'consuming';
  for (const p of partitions) {
    if (RANK[p.status] > RANK[status]) {
      status = p.status;
      reason = `${p.topic}[${p.partition}]: ${p.reason}`;
    }
  }
  if (totalLag > 0 && (last.state === 'Empty' || last.state === 'Dead') && status !== 'STOPPED') {
    status = 'STOPPED';
    reason = `no members (${last.state}) and lag ${totalLag}`;
  }
  return { status, totalLag, reason, partitions };
}
