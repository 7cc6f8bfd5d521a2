import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

/** One registry per service; default process metrics (CPU, RSS, event-loop lag, GC) included. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly messages: Counter<'action' | 'topic'>;
  readonly lastSnapshotCopyMs: Gauge;

  constructor(service: string, instanceId: string) {
    this.registry.setDefaultLabels({ service, instance: instanceId });
    collectDefaultMetrics({ register: this.registry });
    this.messages = new Counter({
      name: 'movie_stream_messages_total',
      help: 'Messages published or consumed, by topic.',
      labelNames: ['action', 'topic'],
      registers: [this.registry],
    });
    this.lastSnapshotCopyMs = new Gauge({
      name: 'movie_stream_snapshot_copy_ms',
      help: 'Time the last snapshot held the table lock for its copy.',
      registers: [this.registry],
    });
  }
}

export interface HttpEndpoints {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text format) and GET /healthz (200 when healthy, 503 otherwise, JSON
 * body). Binds 127.0.0.1 unless told otherwise; port 0 picks a free port.
 */
export async function startHttpEndpoints(opts: { host: string; port: number; metrics: ServiceMetrics; health: () => Health }): Promise<HttpEndpoints> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (url === '/metrics') {
      opts.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else if (url === '/healthz') {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  server.unref();
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
