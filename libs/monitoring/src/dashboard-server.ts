// The monitor's HTTP layer on libs/observability's startHttpServer: the dashboard page and its assets,
// the JSON API, server-sent events, and the service routes /metrics and /healthz, all on one port.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  enumParam,
  EventStreams,
  forwardTo,
  Handler,
  HttpServer,
  intParam,
  sendJson,
  sendText,
  serviceRoutes,
  sseEvent,
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
  /** When set: /api/movies and everything under /api/movies/ forwarded to the sinks (MONITOR_API_*). */
  api?: MoviesApiForwarding;
}

/** The sinks' API behind the monitor's port (one address for the stack's movie queries and push streams). */
export interface MoviesApiForwarding {
  /** Base URLs of the sinks; each answers any movie, so any will do. */
  upstreams: readonly string[];
  timeoutMs: number;
  maxConcurrent: number;
}

const MOVIES_API = '/api/movies';

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

/** The dashboard's event streams (EventStreams: bounded in clients and in what each may have buffered). */
class DashboardStreams {
  private readonly streams: EventStreams;
  private unsubscribe?: () => void;

  constructor(
    private readonly core: MonitorCore,
    opts: { maxClients: number; clientBufferBytes: number; metrics: ServiceMetrics; logger: MonitorLogger },
  ) {
    this.streams = new EventStreams({
      what: 'dashboard',
      maxClients: opts.maxClients,
      clientBufferBytes: opts.clientBufferBytes,
      registry: opts.metrics.registry,
      logger: opts.logger,
      metrics: {
        clients: { name: 'movie_stream_dashboard_clients', help: 'Server-sent-event clients connected to the dashboard.' },
        refused: {
          name: 'movie_stream_dashboard_clients_refused_total',
          help: 'Dashboard event streams refused or closed by the monitor: full = over DASHBOARD_MAX_CLIENTS (503), slow = more than DASHBOARD_CLIENT_BUFFER_BYTES unsent.',
        },
      },
    });
  }

  readonly route: Handler = (req, res) => {
    if (!this.streams.accept(req, res, () => this.left())) return;
    this.streams.send(res, sseEvent(JSON.stringify(this.core.state())));
    this.unsubscribe ??= this.core.subscribe((s) => this.streams.broadcast(sseEvent(JSON.stringify(s))));
  };

  /** The core is watched only while someone is. */
  private left(): void {
    if (this.streams.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  close(): void {
    this.streams.close();
    this.unsubscribe?.();
  }
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<HttpServer> {
  const { core, logger } = opts;
  const page = readAsset('dashboard.html');
  if (!page)
    throw new Error(`the dashboard page dashboard.html is neither next to the bundle (${__dirname}) nor in libs/monitoring/assets`);
  const streams = new DashboardStreams(core, {
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
  const forward = opts.api
    ? forwardTo(opts.api.upstreams, {
        timeoutMs: opts.api.timeoutMs,
        maxConcurrent: opts.api.maxConcurrent,
        onUpstreamChange: (u, up, reason) =>
          up ? logger.info(`movies API: ${u} answers again`) : logger.warn(`movies API: ${u} failing (${reason}); trying the others`),
      })
    : undefined;
  if (forward) routes[MOVIES_API] = forward;
  const fallback: Handler = (req, res, url) => {
    if (forward && url.pathname.startsWith(`${MOVIES_API}/`)) return forward(req, res, url);
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
