// The monitor's HTTP layer on libs/observability's startHttpServer: the dashboard page and its assets,
// the JSON API, server-sent events, and the service routes /metrics and /healthz, all on one port.
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Counter, Gauge } from 'prom-client';
import {
  enumParam,
  Handler,
  HttpServer,
  intParam,
  sendJson,
  sendText,
  serviceRoutes,
  ServiceMetrics,
  startHttpServer,
} from '@movie-stream/observability';
import type { MonitorCore, MonitorLogger } from './monitor-core';

export interface DashboardServerOptions {
  core: MonitorCore;
  host: string;
  /** 0 = any free port. */
  port: number;
  portFallback?: boolean;
  metrics: ServiceMetrics;
  logger: MonitorLogger;
  /** Most event streams at once; more get 503. */
  maxClients?: number;
  /** A client with more than this unsent is closed. */
  clientBufferBytes?: number;
}

/** Static files beside the page (served from "/"): its script and uPlot. */
const ASSETS: Record<string, string> = {
  '/dashboard.js': 'application/javascript',
  '/uPlot.iife.min.js': 'application/javascript',
  '/uPlot.min.css': 'text/css',
};

/**
 * Next to the bundle (dist/apps/monitor, copied by the monitor's build target) first, then the sources'
 * libs/monitoring/assets (running from source), then the workspace package and node_modules (a bundle
 * built by tools/build/bundle.mjs alone, inside the repository).
 */
export function assetPath(name: string): string | undefined {
  const candidates = [join(__dirname, name), join(__dirname, '..', 'assets', name)];
  for (const pkg of ['@movie-stream/monitoring/package.json', `uplot/dist/${name}`]) {
    try {
      const p = require.resolve(pkg);
      candidates.push(pkg.endsWith('package.json') ? join(p, '..', 'assets', name) : p);
    } catch {
      // not installed: only the other places can serve it
    }
  }
  return candidates.find((c) => existsSync(c));
}

const readAsset = (name: string): Buffer | undefined => {
  const p = assetPath(name);
  return p ? readFileSync(p) : undefined;
};

/** The dashboard's event streams: bounded in clients and in what each may have buffered. */
class EventStreams {
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe?: () => void;
  private readonly refused: Counter<'reason'>;

  constructor(
    private readonly core: MonitorCore,
    private readonly opts: { maxClients: number; clientBufferBytes: number; metrics: ServiceMetrics; logger: MonitorLogger },
  ) {
    const gauge: Gauge = new Gauge({
      name: 'movie_stream_dashboard_clients',
      help: 'Server-sent-event clients connected to the dashboard.',
      registers: [opts.metrics.registry],
      collect: () => gauge.set(this.clients.size),
    });
    this.refused = new Counter({
      name: 'movie_stream_dashboard_clients_refused_total',
      help: 'Dashboard event streams refused or closed by the monitor: full = over DASHBOARD_MAX_CLIENTS (503), slow = more than DASHBOARD_CLIENT_BUFFER_BYTES unsent.',
      labelNames: ['reason'],
      registers: [opts.metrics.registry],
    });
  }

  readonly route: Handler = (req, res) => {
    if (this.clients.size >= this.opts.maxClients) {
      this.refused.inc({ reason: 'full' });
      return void res
        .writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' })
        .end(`too many dashboard clients (${this.opts.maxClients})\n`);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`data: ${JSON.stringify(this.core.state())}\n\n`);
    this.add(res);
    req.on('close', () => this.remove(res));
  };

  private add(res: ServerResponse): void {
    this.clients.add(res);
    this.unsubscribe ??= this.core.subscribe((s) => this.push(`data: ${JSON.stringify(s)}\n\n`));
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private push(data: string): void {
    for (const res of this.clients) {
      // What the client has not taken yet (beyond the kernel's socket buffers) stays in memory here: a
      // client that stops reading would otherwise make the monitor buffer without limit.
      if (res.writableLength > this.opts.clientBufferBytes) {
        this.remove(res);
        this.refused.inc({ reason: 'slow' });
        this.opts.logger.warn(`closed a dashboard event stream: ${res.writableLength} bytes unsent (limit ${this.opts.clientBufferBytes})`);
        res.destroy();
      } else {
        res.write(data);
      }
    }
  }

  close(): void {
    for (const res of this.clients) res.end();
    this.unsubscribe?.();
  }
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<HttpServer> {
  const { core, logger } = opts;
  const page = readAsset('dashboard.html');
  if (!page)
    throw new Error(`the dashboard page dashboard.html is neither next to the bundle (${__dirname}) nor in libs/monitoring/assets`);
  const streams = new EventStreams(core, {
    maxClients: opts.maxClients ?? 100,
    clientBufferBytes: opts.clientBufferBytes ?? 4 * 1024 * 1024,
    metrics: opts.metrics,
    logger,
  });
  const minutes = (url: URL) => intParam(url, 'minutes', 10, { min: 1, max: 7 * 24 * 60 });
  const sinceMinutes = (url: URL) => Date.now() - minutes(url) * 60_000;
  const state: Handler = (_req, res, url) => sendJson(res, core.state(minutes(url)));
  const routes: Record<string, Handler> = {
    '/': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page),
    '/api/state': state,
    // The name before DashboardState: kept for scripts that poll it.
    '/api/snapshot': state,
    '/api/throughput': (_req, res, url) =>
      sendJson(
        res,
        core.series.rates({
          sinceMs: sinceMinutes(url),
          by: enumParam(url, 'by', ['service', 'instance', 'topic'] as const, 'service'),
          padLoneSecond: true,
        }),
      ),
    '/api/summary': (_req, res, url) => sendJson(res, core.series.summary({ sinceMs: sinceMinutes(url) })),
    '/api/lag': (_req, res) => sendJson(res, core.poller.latest.groups),
    '/api/status': (_req, res) =>
      sendJson(
        res,
        core.poller.latest.groups.map(({ groupId: g, status, totalLag, reason, state: s }) => ({
          groupId: g,
          status,
          totalLag,
          state: s,
          reason,
        })),
      ),
    '/api/brokers': (_req, res) => sendJson(res, core.poller.latest.brokers),
    '/api/topics': (_req, res) => sendJson(res, core.poller.latest.topics),
    '/events': streams.route,
    ...serviceRoutes(opts.metrics, () => core.health()),
  };
  const fallback: Handler = (_req, res, url) => {
    const type = ASSETS[url.pathname];
    const body = type ? readAsset(url.pathname.slice(1)) : undefined;
    if (body) return void res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' }).end(body);
    sendText(res, 404, 'not found');
  };
  const http = await startHttpServer({
    host: opts.host,
    port: opts.port,
    portFallback: opts.portFallback,
    routes,
    fallback,
    ref: true,
    onError: (e, req) => logger.warn(`${req.method} ${req.url}: ${e.message}`),
  });
  return {
    ...http,
    close: () => {
      streams.close();
      return http.close();
    },
  };
}
