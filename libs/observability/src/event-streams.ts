// Server-sent-event streams with the bounds every long-lived response needs: a cap on clients (more get 503
// with Retry-After) and a cap on what one client may leave unsent (a client that stops reading is closed,
// not buffered for without limit). Used by the monitor's dashboard and by the movie API's push endpoints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface MetricName {
  name: string;
  help: string;
}

export interface EventStreamsOptions {
  /** Names the streams in the 503's text and the log: "too many <what> clients (100)". */
  what: string;
  /** Most streams at once; more get 503. */
  maxClients: number;
  /** A client with more than this unsent (beyond the kernel's socket buffers) is closed. */
  clientBufferBytes: number;
  /** Where the gauge (clients connected) and the counter (refused, by reason full/slow) are registered. */
  registry?: Registry;
  metrics: { clients: MetricName; refused: MetricName };
  logger?: { warn(msg: string): void };
  /** Retry-After of the 503 (seconds); default 10. */
  retryAfterSeconds?: number;
}

/**
 * Registers `metric` in `registry`, replacing one of the same name (a second instance in one process, e.g.
 * a server mounted again: the newest one reports).
 */
export function registerReplacing<T extends Parameters<Registry['registerMetric']>[0]>(registry: Registry | undefined, metric: T): T {
  if (!registry) return metric;
  registry.removeSingleMetric((metric as unknown as { name: string }).name);
  registry.registerMetric(metric);
  return metric;
}

export class EventStreams {
  private readonly clients = new Map<ServerResponse, (() => void) | undefined>();
  private readonly refused: Counter<'reason'>;

  constructor(private readonly opts: EventStreamsOptions) {
    const gauge: Gauge = new Gauge({
      ...opts.metrics.clients,
      registers: [],
      collect: () => gauge.set(this.clients.size),
    });
    registerReplacing(opts.registry, gauge);
    this.refused = registerReplacing(opts.registry, new Counter({ ...opts.metrics.refused, labelNames: ['reason'], registers: [] }));
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Takes a request as an event stream: 503 with Retry-After (and false) when maxClients are connected;
   * otherwise answers 200 text/event-stream and returns true. The client leaves when its connection closes,
   * when it is too slow (send), or on close(); `onLeave` is called then, once.
   */
  accept(req: IncomingMessage, res: ServerResponse, onLeave?: () => void): boolean {
    if (this.clients.size >= this.opts.maxClients) {
      this.refused.inc({ reason: 'full' });
      res
        .writeHead(503, { 'content-type': 'text/plain', 'retry-after': String(this.opts.retryAfterSeconds ?? 10) })
        .end(`too many ${this.opts.what} clients (${this.opts.maxClients})\n`);
      return false;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    // The client sees the 200 at once, even when the first event takes a while to compute.
    res.flushHeaders();
    this.clients.set(res, onLeave);
    res.on('close', () => this.remove(res));
    req.on('close', () => this.remove(res));
    return true;
  }

  /**
   * Writes `chunk` (one or more whole events) to a client, unless it has more than clientBufferBytes unsent:
   * then it is closed and counted (refused, reason slow). Returns whether the chunk was written.
   */
  send(res: ServerResponse, chunk: string): boolean {
    if (!this.clients.has(res)) return false;
    if (res.writableLength > this.opts.clientBufferBytes) {
      const unsent = res.writableLength;
      this.remove(res);
      this.refused.inc({ reason: 'slow' });
      this.opts.logger?.warn(`closed a ${this.opts.what} event stream: ${unsent} bytes unsent (limit ${this.opts.clientBufferBytes})`);
      res.destroy();
      return false;
    }
    res.write(chunk);
    return true;
  }

  /** send to every client. */
  broadcast(chunk: string): void {
    for (const res of [...this.clients.keys()]) this.send(res, chunk);
  }

  /** Ends every stream. */
  close(): void {
    for (const res of [...this.clients.keys()]) {
      this.remove(res);
      res.end();
    }
  }

  private remove(res: ServerResponse): void {
    if (!this.clients.has(res)) return;
    const onLeave = this.clients.get(res);
    this.clients.delete(res);
    onLeave?.();
  }
}

/** One server-sent event: `event:` when named, the data on one line (JSON has no raw newlines). */
export function sseEvent(data: string, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
}
