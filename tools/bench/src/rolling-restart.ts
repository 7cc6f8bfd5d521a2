// --rolling-restart: every processor and sink instance restarted one at a time while ratings flow (the restarts
// themselves: @movie-stream/pipeline-run's startRollingRestart), with the pause of consumption measured here from
// the consumer groups' committed offsets. The staleness seen meanwhile is the paced probe's (freshness.ts). The
// stall computation is exported for the tests.
import { consumerLag, type KafkaClient, withAdmin } from '@movie-stream/messaging';

/** One poll of a group's committed offset of one partition (t in ms). */
export interface OffsetSample {
  t: number;
  /** Topic and partition, e.g. "run.ratings/3". */
  key: string;
  committed: number;
  lag: number;
}

/**
 * The longest time any partition was not consumed: per partition, from the first poll that found it behind
 * (lag > 0) without its committed offset having moved, to the first poll at which the offset moved (or the
 * lag was gone); a stall still open at the last poll counts up to it. Samples in time order per key.
 */
export function longestStall(samples: readonly OffsetSample[]): { ms: number; key?: string } {
  const open = new Map<string, { since?: number; committed: number }>();
  let best: { ms: number; key?: string } = { ms: 0 };
  const close = (key: string, since: number | undefined, t: number) => {
    if (since !== undefined && t - since > best.ms) best = { ms: t - since, key };
  };
  let lastT = -Infinity;
  for (const s of samples) {
    lastT = Math.max(lastT, s.t);
    const p = open.get(s.key);
    if (!p) {
      open.set(s.key, { committed: s.committed, ...(s.lag > 0 ? { since: s.t } : {}) });
      continue;
    }
    if (s.committed !== p.committed || s.lag === 0) {
      close(s.key, p.since, s.t);
      p.committed = s.committed;
      p.since = s.lag > 0 ? s.t : undefined;
    } else if (p.since === undefined) p.since = s.t;
  }
  for (const [key, p] of open) close(key, p.since, lastT);
  return best;
}

/**
 * Polls the committed offsets and end offsets of the groups' partitions every `intervalMs` over one admin
 * connection, keeping the samples (bounded: one per partition per poll, `maxSamples` in all, then the oldest
 * half is dropped — a run long enough for that has its restarts' stalls in the newer half only if they were late).
 */
export class OffsetStallSampler {
  private readonly samples = new Map<string, OffsetSample[]>();
  private stopped = false;
  private readonly done: Promise<void>;
  errors = 0;

  constructor(
    kafka: KafkaClient,
    private readonly groups: { group: string; topics: string[] }[],
    intervalMs = 100,
    private readonly maxSamples = 500_000,
  ) {
    this.done = withAdmin(kafka, async (admin) => {
      while (!this.stopped) {
        const t0 = performance.now();
        for (const g of this.groups) {
          try {
            const lags = await consumerLag(admin, g.group, g.topics);
            const t = performance.now();
            const list = this.samples.get(g.group) ?? [];
            for (const l of lags) list.push({ t, key: `${l.topic}/${l.partition}`, committed: l.committed, lag: l.lag });
            if (list.length > this.maxSamples) list.splice(0, list.length >> 1);
            this.samples.set(g.group, list);
          } catch {
            // A failed poll (a rebalance, a leader moving) is a gap in the samples, not a stall of its own.
            this.errors++;
          }
        }
        const rest = t0 + intervalMs - performance.now();
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
    }).catch(() => void this.errors++);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** The longest stall of each group and over all (ms, rounded down to the poll's precision by the caller). */
  stalls(): { group: string; ms: number; key?: string }[] {
    return this.groups.map(({ group }) => ({ group, ...longestStall(this.samples.get(group) ?? []) }));
  }
}
