// API freshness: the time from a rating published to its effect visible in GET /api/movies/:id. The bench
// publishes probe ratings of its own (movie ids far above the data set's, so they never mix with the
// data's movies), one at a time, and polls the sinks' APIs until the movie's count includes the probe.
// Paced: a probe starts at most every `intervalMs`, and polls slow down once a probe has waited a while, so
// the sinks answer tens of requests a second, not hundreds, at any latency.
import { createLogger } from '@movie-stream/logging';
import { Publisher, type KafkaClient } from '@movie-stream/messaging';
import { encodeRating } from '@movie-stream/schema';

/** Movie ids of the probes: outside any generated data set (ids there are at most the movie count). */
export const PROBE_MOVIE_BASE = 2_000_000_000;
const PROBE_MOVIES = 12;
export const isProbeMovie = (id: number) => id >= PROBE_MOVIE_BASE && id < PROBE_MOVIE_BASE + PROBE_MOVIES;

export interface FreshnessProbe {
  /** Milliseconds from the send of each probe to the API showing it. */
  samples: number[];
  /** Probes published (every one is a rating the pipeline counts). */
  published: number;
  /** Resolves once the probing stopped (after stop(), or when `max` samples were taken). */
  stop(): Promise<void>;
}

async function countAt(port: number, movieId: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/movies/${movieId}`);
    if (res.status !== 200) return 0; // 503 starting, 404 not there yet
    return ((await res.json()) as { count: number }).count;
  } catch {
    return 0;
  }
}

/**
 * Starts probing: publishes a rating of a probe movie, waits until one of the sinks' APIs (`ports`: with
 * several sinks, the one owning the movie's partition answers it) counts it, records the time, repeats.
 */
export function startFreshnessProbe(o: {
  kafka: KafkaClient;
  brokers: string[];
  topic: string;
  ports: number[];
  max: number;
  /** Least time from one probe's send to the next (default PROBE_INTERVAL_MS). */
  intervalMs?: number;
  timeoutMs?: number;
}): FreshnessProbe {
  const intervalMs = o.intervalMs ?? PROBE_INTERVAL_MS;
  // Idempotent: a retried send must not count a probe twice (the next probe's wait would end at once).
  const logger = createLogger({ service: 'bench-probe', instanceId: 'bench', level: 'warn', format: 'text' });
  const publisher = new Publisher(o.kafka, { brokers: o.brokers, logger, idempotent: true, acks: -1 });
  const samples: number[] = [];
  const counts = new Map<number, number>();
  let stopping = false;
  let onStop = () => undefined as void;
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  const probe: FreshnessProbe = { samples, published: 0, stop: async () => void (stopping = true) };
  const done = (async () => {
    await publisher.connect();
    try {
      for (let i = 0; !stopping && samples.length < o.max; i++) {
        const movieId = PROBE_MOVIE_BASE + (i % PROBE_MOVIES);
        const want = (counts.get(movieId) ?? 0) + 1;
        const t0 = performance.now();
        const value = encodeRating({ userId: 1, movieId, rating: 5, timestamp: Math.floor(Date.now() / 1000) });
        await publisher.send(o.topic, [{ key: String(movieId), value }]);
        probe.published++;
        counts.set(movieId, want);
        const deadline = t0 + (o.timeoutMs ?? 120_000);
        for (;;) {
          const seen = await Promise.all(o.ports.map((p) => countAt(p, movieId)));
          if (seen.some((c) => c >= want)) {
            samples.push(performance.now() - t0);
            break;
          }
          if (performance.now() > deadline)
            throw new Error(`probe rating of movie ${movieId} not visible in the API after ${o.timeoutMs ?? 120_000} ms`);
          await sleep(pollDelayMs(performance.now() - t0));
        }
        // The next probe once the interval since this one's send has passed (stop() ends the wait).
        const rest = t0 + intervalMs - performance.now();
        if (rest > 0) await Promise.race([sleep(rest), stopped]);
      }
    } finally {
      await publisher.disconnect();
    }
  })();
  done.catch(() => undefined); // reported by stop()
  probe.stop = async () => {
    stopping = true;
    onStop();
    await done;
  };
  return probe;
}

/** Least time between probe sends: 20 probes a second. */
export const PROBE_INTERVAL_MS = 50;

/** Poll delay after `waitedMs` of waiting: 5 ms at first (freshness is often tens of ms), then a tenth of the wait, at most 50 ms (so under 10 % of error, at ≤ 20 polls a second once slow). */
export function pollDelayMs(waitedMs: number): number {
  return Math.min(50, Math.max(5, waitedMs / 10));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The p-th percentile (0-100) by nearest rank; NaN without samples. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * Probes in flight, per probe movie: each waits for the movie's count to reach its own (the probes of a movie
 * land in one partition, in order, so a count of n shows the first n). Pure: the paced probe feeds it.
 */
export class ProbeLedger {
  private readonly pending = new Map<number, { want: number; t0: number }[]>();
  private readonly sent = new Map<number, number>();
  /** Milliseconds from each probe's send to a sink counting it, in the order they became visible. */
  readonly samples: number[] = [];

  /** A probe of `movieId` sent at `t0` (after the send succeeded: a failed send is no probe). */
  add(movieId: number, t0: number): void {
    const want = (this.sent.get(movieId) ?? 0) + 1;
    this.sent.set(movieId, want);
    const list = this.pending.get(movieId) ?? [];
    list.push({ want, t0 });
    this.pending.set(movieId, list);
  }

  /** A sink counted `count` ratings of the movie at `now`: every probe of it up to that count is visible. */
  seen(movieId: number, count: number, now: number): void {
    const list = this.pending.get(movieId);
    if (!list) return;
    while (list.length && list[0]!.want <= count) this.samples.push(now - list.shift()!.t0);
    if (!list.length) this.pending.delete(movieId);
  }

  /** Movies with probes not yet visible. */
  movies(): number[] {
    return [...this.pending.keys()];
  }

  get outstanding(): number {
    let n = 0;
    for (const l of this.pending.values()) n += l.length;
    return n;
  }

  /** The send time of the oldest probe still waiting (undefined when none is). */
  oldest(): number | undefined {
    let t: number | undefined;
    for (const l of this.pending.values()) if (l.length && (t === undefined || l[0]!.t0 < t)) t = l[0]!.t0;
    return t;
  }
}

/** GET /api/movies/:id on one sink: the count, 0 when the movie is not there yet, undefined when it did not answer 200/404. */
async function countOn(port: number, movieId: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/movies/${movieId}`, { signal: AbortSignal.timeout(2000) });
    if (res.status === 404) return 0;
    if (res.status !== 200) return undefined; // 503: starting, restoring, or at its request cap
    return ((await res.json()) as { count: number }).count;
  } catch {
    return undefined; // not listening (restarting)
  }
}

export interface PacedProbe {
  ledger: ProbeLedger;
  /** Probes published. */
  readonly published: number;
  /** Sends skipped because `maxOutstanding` probes were waiting (each bounds the memory and the polling). */
  readonly skipped: number;
  /** Stops sending, waits (up to `timeoutMs`) until every probe sent is visible; rejects on a send failure. */
  stop(): Promise<{ unresolved: number }>;
}

/**
 * The open-loop probe of the rolling restart: a probe rating every `intervalMs` whether or not the earlier ones
 * are visible yet (a probe at a time, as startFreshnessProbe does, would take one sample of a stall however
 * long it lasts), and every `pollMs` one GET per movie with probes waiting, round robin over the sinks (any sink
 * answers any movie); a sink that does not answer 200/404 (restarting, 503) is passed over for the next in the
 * same round, as a client's retry would. A 503 everywhere is "not visible yet".
 */
export function startPacedProbe(o: {
  kafka: KafkaClient;
  brokers: string[];
  topic: string;
  ports: number[];
  intervalMs?: number;
  pollMs?: number;
  maxOutstanding?: number;
  timeoutMs?: number;
}): PacedProbe {
  const intervalMs = o.intervalMs ?? 100;
  const pollMs = o.pollMs ?? 25;
  const maxOutstanding = o.maxOutstanding ?? 1000;
  const logger = createLogger({ service: 'bench-probe', instanceId: 'bench-rolling', level: 'warn', format: 'text' });
  const publisher = new Publisher(o.kafka, { brokers: o.brokers, logger, idempotent: true, acks: -1 });
  const ledger = new ProbeLedger();
  let published = 0;
  let skipped = 0;
  let sending = true;
  let polling = true;
  let rr = 0;
  let wake = () => undefined as void;
  const sender = (async () => {
    await publisher.connect();
    for (let i = 0; sending; i++) {
      const t0 = performance.now();
      if (ledger.outstanding >= maxOutstanding) skipped++;
      else {
        const movieId = PROBE_MOVIE_BASE + (i % PROBE_MOVIES);
        const value = encodeRating({ userId: 1, movieId, rating: 5, timestamp: Math.floor(Date.now() / 1000) });
        await publisher.send(o.topic, [{ key: String(movieId), value }]);
        published++;
        ledger.add(movieId, t0);
      }
      const rest = t0 + intervalMs - performance.now();
      if (rest > 0 && sending) await new Promise<void>((r) => ((wake = r), setTimeout(r, rest)));
    }
  })();
  const poller = (async () => {
    while (polling || ledger.outstanding > 0) {
      if (!polling && performance.now() - (ledger.oldest() ?? Infinity) > (o.timeoutMs ?? 120_000)) break;
      await Promise.all(
        ledger.movies().map(async (movieId) => {
          const start = rr++;
          for (let k = 0; k < o.ports.length; k++) {
            const count = await countOn(o.ports[(start + k) % o.ports.length]!, movieId);
            if (count === undefined) continue;
            ledger.seen(movieId, count, performance.now());
            return;
          }
        }),
      );
      await sleep(pollMs);
    }
  })();
  const sent = sender.finally(() => publisher.disconnect());
  sent.catch(() => undefined); // reported by stop()
  return {
    ledger,
    get published() {
      return published;
    },
    get skipped() {
      return skipped;
    },
    stop: async () => {
      sending = false;
      wake();
      try {
        await sent;
      } finally {
        polling = false;
        await poller;
      }
      return { unresolved: ledger.outstanding };
    },
  };
}
