import { createServer } from 'node:net';
import { closeAndExit, closeWithin, openSince } from './shutdown';

describe('openSince', () => {
  it('counts what is open now beyond the baseline, by type', () => {
    expect(
      openSince(['PipeWrap', 'PipeWrap', 'TTYWrap'], ['PipeWrap', 'TCPSocketWrap', 'PipeWrap', 'TCPSocketWrap', 'Timeout', 'PipeWrap']),
    ).toEqual(['PipeWrap', 'TCPSocketWrap × 2', 'Timeout']);
    expect(openSince(['PipeWrap', 'Timeout'], ['PipeWrap'])).toEqual([]);
  });
});

describe('closeWithin', () => {
  it('runs the steps in order and reports none unfinished when all finish', async () => {
    const done: string[] = [];
    const steps: [string, () => Promise<unknown>][] = ['a', 'b', 'c'].map((n) => [n, async () => void done.push(n)]);
    await expect(closeWithin(steps, 60_000, () => undefined)).resolves.toBeUndefined();
    expect(done).toEqual(['a', 'b', 'c']);
  });

  it('names the step still running at the deadline', async () => {
    const steps: [string, () => Promise<unknown>][] = [
      ['closing the dashboard', async () => undefined],
      ['deleting the topics', () => new Promise(() => undefined)],
    ];
    await expect(closeWithin(steps, 20, () => undefined)).resolves.toBe('deleting the topics');
  });

  it('logs a step that fails and runs the next', async () => {
    const lines: string[] = [];
    let ranSecond = false;
    const steps: [string, () => Promise<unknown>][] = [
      ['deleting the topics', async () => Promise.reject(new Error('broker unreachable'))],
      ['closing the dashboard', async () => void (ranSecond = true)],
    ];
    await expect(closeWithin(steps, 60_000, (l) => lines.push(l))).resolves.toBeUndefined();
    expect(lines).toEqual(['deleting the topics failed: broker unreachable']);
    expect(ranSecond).toBe(true);
  });
});

describe('closeAndExit', () => {
  it('exits with the code, logging nothing, when everything closed', async () => {
    const lines: string[] = [];
    const codes: number[] = [];
    await closeAndExit(0, [['nothing', async () => undefined]], {
      deadlineMs: 60_000,
      baseline: process.getActiveResourcesInfo(),
      log: (l) => lines.push(l),
      exit: (c) => codes.push(c),
    });
    expect({ lines, codes }).toEqual({ lines: [], codes: [0] });
  });

  it('names a step past the deadline and a resource left open, and exits all the same', async () => {
    const baseline = process.getActiveResourcesInfo();
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const lines: string[] = [];
    const codes: number[] = [];
    try {
      await closeAndExit(1, [['closing the dashboard', () => new Promise(() => undefined)]], {
        deadlineMs: 20,
        baseline,
        log: (l) => lines.push(l),
        exit: (c) => codes.push(c),
      });
    } finally {
      server.close();
    }
    expect(lines).toEqual([
      'closing: still closing the dashboard after 0.02 s; exiting anyway',
      'closing: still open after the run: TCPServerWrap; exiting anyway',
    ]);
    expect(codes).toEqual([1]);
  });
});
