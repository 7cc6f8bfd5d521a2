// Fallback for the processor/sink rates when the meta topics do not hold every report: poll each
// consumer's /metrics (movie_stream_messages_total) every 100 ms and time its first to last change.

/** `movie_stream_messages_total{…action="A"…topic="T"…} N` → N (0 when absent). */
export function counterValue(text: string, action: string, topic: string): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith('movie_stream_messages_total{')) continue;
    if (line.includes(`action="${action}"`) && line.includes(`topic="${topic}"`)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * A counter polled across restarts of its process (a rolling restart: the same port, counting from 0 again):
 * what a predecessor counted up to its last sample stays in the total (what it counted after that is not seen).
 */
export class RestartingCounter {
  private last = 0;
  private base = 0;

  /** The next sample of the process's counter → the total so far. */
  add(raw: number): number {
    if (raw < this.last) this.base += this.last;
    this.last = raw;
    return this.base + raw;
  }
}

export class CounterPoller {
  private samples: { t: number; n: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private readonly total = new RestartingCounter();

  constructor(
    private readonly port: number,
    private readonly action: string,
    private readonly topic: string,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const r = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(1000) });
      this.samples.push({ t: performance.now(), n: this.total.add(counterValue(await r.text(), this.action, this.topic)) });
    } catch {
      // not listening yet, or gone
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Count and rate over the active span; each end is the midpoint between the samples around the change. */
  rate(): { count: number; perSec: number } {
    return combinedRate([this]);
  }

  /** Final count and the active span (ms, performance.now()); undefined before the counter moved. */
  span(): { count: number; start: number; end: number } | undefined {
    const s = this.samples;
    const first = s.findIndex((x) => x.n > 0);
    if (first < 0) return undefined;
    const final = s[s.length - 1].n;
    const last = s.findIndex((x) => x.n === final);
    const start = first > 0 ? (s[first - 1].t + s[first].t) / 2 : s[first].t;
    const end = last > 0 ? (s[last - 1].t + s[last].t) / 2 : s[last].t;
    return { count: final, start, end };
  }
}

/** The instances of one service together: their counts summed, over the span from the first start to the last end. */
export function combinedRate(pollers: CounterPoller[]): { count: number; perSec: number } {
  const spans = pollers.map((p) => p.span()).filter((x): x is { count: number; start: number; end: number } => x !== undefined);
  if (spans.length === 0) return { count: 0, perSec: NaN };
  const count = spans.reduce((a, x) => a + x.count, 0);
  const start = Math.min(...spans.map((x) => x.start));
  const end = Math.max(...spans.map((x) => x.end));
  return { count, perSec: count / Math.max(0.001, (end - start) / 1000) };
}
