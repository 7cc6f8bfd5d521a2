// API freshness: the time from a rating published to its effect visible in GET /api/movies/:id. The bench
// publishes probe ratings of its own (movie ids far above the data set's, so they never mix with the
// data's movies), one at a time, and polls the sinks' APIs until the movie's count includes the probe.
import { createLogger } from '@movie-stream/logging';
import { Publisher, type KafkaClient } from '@movie-stream/messaging';
import { encodeRating } from '@movie-stream/mean-rating';

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
  timeoutMs?: number;
}): FreshnessProbe {
  // Idempotent: a retried send must not count a probe twice (the next probe's wait would end at once).
  const logger = createLogger({ service: 'bench-probe', instanceId: 'bench', level: 'warn', format: 'text' });
  const publisher = new Publisher(o.kafka, { brokers: o.brokers, logger, idempotent: true, acks: -1 });
  const samples: number[] = [];
  const counts = new Map<number, number>();
  let stopping = false;
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
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    } finally {
      await publisher.disconnect();
    }
  })();
  done.catch(() => undefined); // reported by stop()
  probe.stop = async () => {
    stopping = true;
    await done;
  };
  return probe;
}

/** The p-th percentile (0-100) by nearest rank; NaN without samples. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
