// Meta reports as time series: messages per second per service, instance, topic and action, at 1-s
// resolution, with bounded retention (a monitor runs for days; memory must not grow with it).

export type Action = 'published' | 'consumed';

/** A decoded MetaReport (numbers, not bigints: counts and epoch milliseconds fit in a double). */
export interface MetaPoint {
  service: string;
  instanceId: string;
  action: Action;
  topic: string;
  windowStartMs: number;
  windowEndMs: number;
  count: number;
  bytes: number;
}

export interface SeriesKey {
  service: string;
  instanceId: string;
  topic: string;
  action: Action;
}

/** One line of a chart: [second (epoch ms), msgs/s] pairs, ascending, gaps = 0. */
export interface RateSeries {
  label: string;
  service: string;
  instanceId?: string;
  topic?: string;
  action: Action;
  points: [number, number][];
}

export interface SeriesSummary {
  service: string;
  topic: string;
  action: Action;
  instances: number;
  messages: number;
  bytes: number;
  firstSecond: number;
  lastSecond: number;
  /** messages / seconds from the first to the last active second (inclusive). */
  meanPerSecond: number;
  peakPerSecond: number;
}

const SEP = '\u0000';
const keyOf = (k: SeriesKey) => [k.service, k.instanceId, k.topic, k.action].join(SEP);

export class MetaSeries {
  /** key → second (epoch ms, multiple of 1000) → [count, bytes]. */
  private readonly series = new Map<string, { key: SeriesKey; seconds: Map<number, [number, number]> }>();
  private newest = 0;

  /** @param retentionMs seconds older than (newest second − retentionMs) are dropped. */
  constructor(private readonly retentionMs = 30 * 60_000) {}

  /**
   * Adds one report. A window longer than a second (META_WINDOW_MS) is spread evenly over the seconds it
   * covers, so the totals stay exact and rates stay per second.
   */
  add(p: MetaPoint): void {
    if (p.count <= 0) return;
    const first = Math.floor(p.windowStartMs / 1000) * 1000;
    const last = Math.max(first, Math.ceil(p.windowEndMs / 1000) * 1000 - 1000);
    if (last < this.newest - this.retentionMs) return;
    const k = keyOf(p);
    let s = this.series.get(k);
    if (!s) {
      s = { key: { service: p.service, instanceId: p.instanceId, topic: p.topic, action: p.action }, seconds: new Map() };
      this.series.set(k, s);
    }
    const n = (last - first) / 1000 + 1;
    for (let i = 0; i < n; i++) {
      const t = first + i * 1000;
      const cur = s.seconds.get(t) ?? [0, 0];
      cur[0] += p.count / n;
      cur[1] += p.bytes / n;
      s.seconds.set(t, cur);
    }
    if (last > this.newest) {
      this.newest = last;
      this.prune();
    }
  }

  private prune(): void {
    const cutoff = this.newest - this.retentionMs;
    for (const [k, s] of this.series) {
      for (const t of s.seconds.keys()) if (t < cutoff) s.seconds.delete(t);
      if (s.seconds.size === 0) this.series.delete(k);
    }
  }

  /** Number of (series, second) cells held: bounded by series × retention seconds. */
  get size(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.seconds.size;
    return n;
  }

  keys(): SeriesKey[] {
    return [...this.series.values()].map((s) => s.key);
  }

  /**
   * Rates per second, summed over the series that share a group (by default service + action: all
   * instances and topics of a service together), from `sinceMs` to `untilMs` with zeros in the gaps.
   * `padLoneSecond`: when everything falls into one second (a short run), the seconds before and after
   * are added as zeros (nothing was reported in them), so a chart draws a line instead of a lone point.
   */
  rates(
    opts: {
      sinceMs?: number;
      untilMs?: number;
      by?: 'service' | 'instance' | 'topic';
      filter?: (k: SeriesKey) => boolean;
      padLoneSecond?: boolean;
    } = {},
  ): RateSeries[] {
    const by = opts.by ?? 'service';
    const groups = new Map<string, { meta: Omit<RateSeries, 'points'>; seconds: Map<number, number> }>();
    let lo = Infinity;
    let hi = -Infinity;
    for (const { key, seconds } of this.series.values()) {
      if (opts.filter && !opts.filter(key)) continue;
      const parts =
        by === 'instance'
          ? [key.service, key.instanceId, key.action]
          : by === 'topic'
            ? [key.service, key.topic, key.action]
            : [key.service, key.action];
      const g = parts.join(SEP);
      let group = groups.get(g);
      if (!group) {
        const label =
          by === 'instance'
            ? `${key.instanceId} ${key.action}`
            : by === 'topic'
              ? `${key.service} ${key.action} ${key.topic}`
              : `${key.service} ${key.action}`;
        group = {
          meta: {
            label,
            service: key.service,
            action: key.action,
            ...(by === 'instance' ? { instanceId: key.instanceId } : {}),
            ...(by === 'topic' ? { topic: key.topic } : {}),
          },
          seconds: new Map(),
        };
        groups.set(g, group);
      }
      for (const [t, [count]] of seconds) {
        if (opts.sinceMs !== undefined && t < opts.sinceMs) continue;
        if (opts.untilMs !== undefined && t > opts.untilMs) continue;
        group.seconds.set(t, (group.seconds.get(t) ?? 0) + count);
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
    if (opts.padLoneSecond && lo === hi) {
      lo -= 1000;
      hi += 1000;
    }
    const out: RateSeries[] = [];
    for (const { meta, seconds } of groups.values()) {
      if (seconds.size === 0) continue;
      const points: [number, number][] = [];
      for (let t = lo; t <= hi; t += 1000) points.push([t, round(seconds.get(t) ?? 0)]);
      out.push({ ...meta, points });
    }
    return out.sort((a, b) => a.label.localeCompare(b.label));
  }

  /** Totals, mean and peak msgs/s per service, topic and action (what `npm run report` prints). */
  summary(opts: { sinceMs?: number; untilMs?: number } = {}): SeriesSummary[] {
    const acc = new Map<string, { s: SeriesSummary; perSecond: Map<number, number>; instances: Set<string> }>();
    for (const { key, seconds } of this.series.values()) {
      const g = [key.service, key.topic, key.action].join(SEP);
      let a = acc.get(g);
      if (!a) {
        a = {
          s: {
            service: key.service,
            topic: key.topic,
            action: key.action,
            instances: 0,
            messages: 0,
            bytes: 0,
            firstSecond: Infinity,
            lastSecond: -Infinity,
            meanPerSecond: 0,
            peakPerSecond: 0,
          },
          perSecond: new Map(),
          instances: new Set(),
        };
        acc.set(g, a);
      }
      for (const [t, [count, bytes]] of seconds) {
        if (opts.sinceMs !== undefined && t < opts.sinceMs) continue;
        if (opts.untilMs !== undefined && t > opts.untilMs) continue;
        a.instances.add(key.instanceId);
        a.s.messages += count;
        a.s.bytes += bytes;
        a.s.firstSecond = Math.min(a.s.firstSecond, t);
        a.s.lastSecond = Math.max(a.s.lastSecond, t);
        a.perSecond.set(t, (a.perSecond.get(t) ?? 0) + count);
      }
    }
    const out: SeriesSummary[] = [];
    for (const { s, perSecond, instances } of acc.values()) {
      if (s.messages === 0) continue;
      const seconds = (s.lastSecond - s.firstSecond) / 1000 + 1;
      out.push({
        ...s,
        instances: instances.size,
        messages: round(s.messages),
        bytes: round(s.bytes),
        meanPerSecond: round(s.messages / seconds),
        peakPerSecond: round(Math.max(...perSecond.values())),
      });
    }
    return out.sort((a, b) => a.service.localeCompare(b.service) || a.topic.localeCompare(b.topic) || a.action.localeCompare(b.action));
  }
}

// Spread windows give fractions; 3 decimals keep totals exact enough and JSON small.
const round = (x: number) => Math.round(x * 1000) / 1000;
