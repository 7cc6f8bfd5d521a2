// How `npm start` ends: close what it opened within a deadline, say what (if anything) was still open,
// and exit. A run once printed its summary and then never exited, held by one leftover socket; the
// runner must end within seconds of its summary whatever a library leaves behind.

/** How long resources that are closing may take to go before they count as left open. */
const LINGER_MS = 1000;

/** What keeps the event loop alive now, by type (process.getActiveResourcesInfo()). */
export type Resources = string[];

/** The resources in `now` beyond those in `baseline` (a multiset difference), e.g. "TCPSocketWrap × 2". */
export function openSince(baseline: Resources, now: Resources = process.getActiveResourcesInfo()): string[] {
  const left = new Map<string, number>();
  for (const r of now) left.set(r, (left.get(r) ?? 0) + 1);
  for (const r of baseline) if (left.has(r)) left.set(r, (left.get(r) as number) - 1);
  return [...left]
    .filter(([, n]) => n > 0)
    .map(([r, n]) => (n > 1 ? `${r} × ${n}` : r))
    .sort();
}

/**
 * Runs the closing steps one after another, each named, until all are done or `deadlineMs` passed.
 * Returns the step that did not finish in time (undefined when all did); a step that fails is logged
 * and the next one runs.
 */
export async function closeWithin(
  steps: [name: string, run: () => Promise<unknown>][],
  deadlineMs: number,
  log: (line: string) => void,
): Promise<string | undefined> {
  let current: string | undefined;
  const all = (async () => {
    for (const [name, run] of steps) {
      current = name;
      await run().catch((e: Error) => log(`${name} failed: ${e.message}`));
    }
    current = undefined;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), deadlineMs)));
  const outcome = await Promise.race([all.then(() => 'done' as const), late]);
  clearTimeout(timer);
  return outcome === 'late' ? (current ?? 'closing') : undefined;
}

/**
 * Ends the process with `code` after the closing steps, within `deadlineMs` (plus a moment). Logs the
 * step that was still running at the deadline and any resource still open that was not open at start
 * (`baseline`): then the exit is forced, and the log line says what a library left behind.
 */
export async function closeAndExit(
  code: number,
  steps: [name: string, run: () => Promise<unknown>][],
  opts: { deadlineMs: number; baseline: Resources; log: (line: string) => void; exit?: (code: number) => void },
): Promise<void> {
  const unfinished = await closeWithin(steps, opts.deadlineMs, opts.log);
  if (unfinished) opts.log(`closing: still ${unfinished} after ${opts.deadlineMs / 1000} s; exiting anyway`);
  // Handles that are closing (sockets ending, a pending immediate) go by themselves within moments.
  let left = openSince(opts.baseline);
  for (let waited = 0; left.length > 0 && waited < LINGER_MS; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    left = openSince(opts.baseline);
  }
  if (left.length) opts.log(`closing: still open after the run: ${left.join(', ')}; exiting anyway`);
  (opts.exit ?? process.exit)(code);
}
