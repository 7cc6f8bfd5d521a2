import { createServer, type Server } from 'node:net';
import { sleep } from '@movie-stream/messaging';

/**
 * Polls `cond` every `everyMs` until it holds (true) or `timeoutMs` have passed (false). The one way tests
 * wait: on a condition, with a generous overall limit, never on a fixed time. An error thrown by `cond`
 * (e.g. "the service exited") ends the wait with that error.
 */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** `n` distinct free TCP ports on 127.0.0.1 (all held open until each is known, so none is handed out twice). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.on('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}
