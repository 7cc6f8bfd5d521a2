import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Handler, HttpServer, sendJson, sendText, startHttpServer } from './http-server';

export {
  startHttpServer,
  requestUrl,
  sendJson,
  sendText,
  intParam,
  enumParam,
  HttpError,
  Handler,
  HttpServer,
  HttpServerOptions,
} from './http-server';
export { EventStreams, EventStreamsOptions, MetricName, registerReplacing, sseEvent } from './event-streams';
export { requestCap, RequestCap, RequestCapOptions } from './request-cap';
export type { Registry } from 'prom-client';
export { forwardTo, ForwardOptions } from './forward';
export { fuzzHttpServer, rawRequests, sendRaw, RawResponse, FuzzResult } from './http-fuzz';

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

/** One registry per service; default process metrics (CPU, RSS, event-loop lag, GC) included. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly messages: Counter<'action' | 'topic'>;
  readonly lastSnapshotCopyMs: Gauge;
  readonly undecodable: Counter<'topic'>;
  readonly restoreSeconds: Histogram<'source'>;
  readonly restores: Counter<'source'>;
  readonly kafkaExpectedConditions: Counter<'condition'>;

  /**
   * `expectedConditions`: the process's count of expected Kafka conditions retried so far, by condition (the
   * messaging lib's expectedConditionCounts), read at each scrape.
   */
  constructor(service: string, instanceId: string, expectedConditions?: () => Record<string, number>) {
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
    this.undecodable = new Counter({
      name: 'movie_stream_undecodable_messages_total',
      help: 'Messages that could not be decoded and were skipped, by topic.',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    // A stateful consumer's partition restores (docs/SCALING.md §4): 0 s for a local one, about a second
    // for a partition rebuilt from its changelog, minutes for a replay.
    this.restoreSeconds = new Histogram({
      name: 'movie_stream_partition_restore_seconds',
      help: 'Time a gained partition took to restore (fence included), by source: local, local+changelog, changelog, replay.',
      labelNames: ['source'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [this.registry],
    });
    this.restores = new Counter({
      name: 'movie_stream_partition_restores_total',
      help: 'Partitions restored, by source: local, local+changelog, changelog, replay.',
      labelNames: ['source'],
      registers: [this.registry],
    });
    // A fresh topic's leader election, a coordinator loading, a rebalance: retried and logged at debug only.
    this.kafkaExpectedConditions = new Counter({
      name: 'movie_stream_kafka_expected_conditions_total',
      help: 'Expected Kafka conditions retried (leader elections, coordinator loading, rebalances), by condition.',
      labelNames: ['condition'],
      registers: [this.registry],
      collect() {
        if (!expectedConditions) return;
        this.reset();
        for (const [condition, n] of Object.entries(expectedConditions())) this.inc({ condition }, n);
      },
    });
  }
}

/** Routes a service adds to its running server (see HttpEndpoints.mount). */
export interface MountedRoutes {
  /** Exact paths, looked up after /metrics and /healthz. */
  routes: Record<string, Handler>;
  /** For other paths; default the endpoints' 404. */
  fallback?: Handler;
}

export interface HttpEndpoints extends HttpServer {
  /**
   * Adds routes after start: the server is up before the service has what they serve (a database, a
   * loaded table). Until then paths under `pendingPrefix` answer 503 "starting". A second mount replaces the first.
   */
  mount(extra: MountedRoutes): void;
}

/** GET /metrics: the registry in the Prometheus text format. */
export const metricsRoute =
  (metrics: ServiceMetrics): Handler =>
  async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
  };

/**
 * GET /metrics (Prometheus text format) and GET /healthz (200 when healthy, 503 otherwise, JSON body):
 * the routes every service serves, the monitor among its own.
 */
export function serviceRoutes(metrics: ServiceMetrics, health: () => Health): Record<'/metrics' | '/healthz', Handler> {
  return {
    '/metrics': metricsRoute(metrics),
    '/healthz': (_req, res) => {
      const h = health();
      sendJson(res, h, h.ok ? 200 : 503);
    },
  };
}

const notFound: Handler = (_req, res) => sendText(res, 404, 'not found: try /metrics or /healthz');

/**
 * Serves serviceRoutes, and the routes a service mounts later (`mount`). Binds 127.0.0.1 unless told
 * otherwise; port 0 picks a free port.
 */
export async function startHttpEndpoints(opts: {
  host: string;
  port: number;
  metrics: ServiceMetrics;
  health: () => Health;
  /** Paths starting with this answer 503 "starting" until something is mounted (default /api/). */
  pendingPrefix?: string;
}): Promise<HttpEndpoints> {
  const pendingPrefix = opts.pendingPrefix ?? '/api/';
  let mounted: MountedRoutes | undefined;
  const base = serviceRoutes(opts.metrics, opts.health);
  const server = await startHttpServer({
    host: opts.host,
    port: opts.port,
    routes: base,
    fallback: (req, res, url) => {
      if (!mounted) {
        const pending = url.pathname.startsWith(pendingPrefix) || url.pathname === pendingPrefix.replace(/\/$/, '');
        return pending ? sendText(res, 503, 'starting: not serving this yet, try again shortly') : notFound(req, res, url);
      }
      return (mounted.routes[url.pathname] ?? mounted.fallback ?? notFound)(req, res, url);
    },
  });
  return {
    ...server,
    mount: (extra) => {
      mounted = { routes: { ...extra.routes }, fallback: extra.fallback };
    },
  };
}
