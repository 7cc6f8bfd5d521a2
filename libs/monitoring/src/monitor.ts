// The monitor: follows the meta topics into a MetaSeries, polls the cluster, serves the dashboard, the
// JSON API behind it, server-sent events, /metrics and /healthz on one port.
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { kafkaClient, KafkaSecurity } from '@movie-stream/messaging';
import type { Consumer } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import { enumParam, Handler, intParam, metricsRoute, sendJson, sendText, ServiceMetrics, startHttpServer } from '@movie-stream/observability';
import { ClusterPoller, ClusterSnapshot } from './cluster-poller';
import { DASHBOARD_HTML } from './dashboard-page';
import { followMetaReports } from './meta-reader';
import { MetaSeries, RateSeries } from './series';

export interface MonitorLogger {
  info(msg: string): unknown;
  warn(msg: string): unknown;
}

export interface MonitorOptions {
  brokers: string[];
  /** Meta topics are <metaPrefix>.published and <metaPrefix>.consumed. */
  metaPrefix: string;
  /** Only groups and topics starting with this; unset = all. */
  scope?: string;
  /** A configured client; default: one for `brokers` and `security`. */
  kafka?: Kafka;
  /** TLS and SASL of the default client (KAFKA_SSL, KAFKA_SASL_*). */
  security?: KafkaSecurity;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** When `port` is taken, take any free port instead of failing (npm start: two runs on one host). */
  portFallback?: boolean;
  pollMs?: number;
  historyMinutes?: number;
  /** The monitor's own consumer group (never commits); default movie-stream.monitor-<pid>-<time>. */
  groupId?: string;
  logger?: MonitorLogger;
  metrics?: ServiceMetrics;
  /** Most dashboard event streams at once; more get 503 (DASHBOARD_MAX_CLIENTS). */
  maxClients?: number;
  /** A client with more than this unsent is closed (DASHBOARD_CLIENT_BUFFER_BYTES). */
  clientBufferBytes?: number;
}

export interface Snapshot extends ClusterSnapshot {
  metaPrefix: string;
  throughput: RateSeries[];
}

export interface Monitor {
  url: string;
  port: number;
  series: MetaSeries;
  poller: ClusterPoller;
  /** What /api/snapshot returns: throughput of the last `minutes` and the latest cluster poll. */
  snapshot(minutes?: number): Snapshot;
  close(): Promise<void>;
}

const ASSETS: Record<string, string> = { '/uPlot.iife.min.js': 'application/javascript', '/uPlot.min.css': 'text/css' };

/** Next to the bundle (dist/apps/monitor, copied by the build target) first, else from node_modules. */
function readAsset(name: string): Buffer | undefined {
  const candidates = [join(__dirname, name)];
  try {
    candidates.push(require.resolve(`uplot/dist/${name}`));
  } catch {
    // not installed: only the copy next to the bundle can serve it
  }
  const found = candidates.find((c) => existsSync(c));
  return found ? readFileSync(found) : undefined;
}

export async function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const logger = opts.logger ?? { info: () => undefined, warn: (m: string) => process.stderr.write(`monitor: ${m}\n`) };
  const kafka = opts.kafka ?? kafkaClient({ ...opts.security, brokers: opts.brokers }, 'movie-stream-monitor', logger);
  const historyMs = (opts.historyMinutes ?? 30) * 60_000;
  const series = new MetaSeries(historyMs);
  const groupId = opts.groupId ?? `movie-stream.monitor-${process.pid}-${Date.now().toString(36)}`;
  const metrics = opts.metrics ?? new ServiceMetrics('monitor', `${process.pid}`);
  let reports = 0;
  let undecodable = 0;

  const admin = kafka.admin();
  const poller = new ClusterPoller({
    admin, brokers: opts.brokers, scope: opts.scope, retentionMs: historyMs,
    ignoreGroup: (g) => g === groupId || g.startsWith('movie-stream.monitor-') || g.startsWith('movie-stream.report-'),
  });
  const controller = new AbortController();
  let consumer: Consumer | undefined;

  const snapshot = (minutes = 10): Snapshot => ({
    ...poller.latest,
    metaPrefix: opts.metaPrefix,
    throughput: series.rates({ sinceMs: Date.now() - minutes * 60_000, padLoneSecond: true }),
  });

  // Server-sent events: bounded in clients and in what each may have buffered (a client that stops
  // reading would otherwise make the monitor buffer without limit).
  const maxClients = opts.maxClients ?? 100;
  const clientBufferBytes = opts.clientBufferBytes ?? 4 * 1024 * 1024;
  const sse = new Set<ServerResponse>();
  const sseClients: Gauge = new Gauge({ name: 'movie_stream_dashboard_clients', help: 'Server-sent-event clients connected to the dashboard.', registers: [metrics.registry], collect: () => sseClients.set(sse.size) });
  const sseRefused = new Counter({
    name: 'movie_stream_dashboard_clients_refused_total',
    help: 'Dashboard event streams refused or closed by the monitor: full = over DASHBOARD_MAX_CLIENTS (503), slow = more than DASHBOARD_CLIENT_BUFFER_BYTES unsent.',
    labelNames: ['reason'], registers: [metrics.registry],
  });
  const push = (data: string) => {
    for (const res of sse) {
      // What the client has not taken yet (beyond the kernel's socket buffers) stays in memory here.
      if (res.writableLength > clientBufferBytes) {
        sse.delete(res);
        sseRefused.inc({ reason: 'slow' });
        logger.warn(`closed a dashboard event stream: ${res.writableLength} bytes unsent (limit ${clientBufferBytes})`);
        res.destroy();
      } else {
        res.write(data);
      }
    }
  };
  const sinceMinutes = (url: URL) => Date.now() - intParam(url, 'minutes', 10, { min: 1, max: 7 * 24 * 60 }) * 60_000;
  const routes: Record<string, Handler> = {
    '/': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML),
    '/api/snapshot': (_req, res, url) => sendJson(res, snapshot(intParam(url, 'minutes', 10, { min: 1, max: 7 * 24 * 60 }))),
    '/api/throughput': (_req, res, url) => sendJson(res, series.rates({ sinceMs: sinceMinutes(url), by: enumParam(url, 'by', ['service', 'instance', 'topic'] as const, 'service'), padLoneSecond: true })),
    '/api/summary': (_req, res, url) => sendJson(res, series.summary({ sinceMs: sinceMinutes(url) })),
    '/api/lag': (_req, res) => sendJson(res, poller.latest.groups),
    '/api/status': (_req, res) => sendJson(res, poller.latest.groups.map(({ groupId: g, status, totalLag, reason, state }) => ({ groupId: g, status, totalLag, state, reason }))),
    '/api/brokers': (_req, res) => sendJson(res, poller.latest.brokers),
    '/api/topics': (_req, res) => sendJson(res, poller.latest.topics),
    '/events': (req, res) => {
      if (sse.size >= maxClients) {
        sseRefused.inc({ reason: 'full' });
        return void res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`too many dashboard clients (${maxClients})\n`);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(`data: ${JSON.stringify(snapshot())}\n\n`);
      sse.add(res);
      req.on('close', () => sse.delete(res));
    },
    '/metrics': metricsRoute(metrics),
    '/healthz': (_req, res) => {
      const ok = !poller.latest.error;
      sendJson(res, { ok, metaReports: reports, undecodable, lastPoll: poller.latest.t, error: poller.latest.error }, ok ? 200 : 503);
    },
  };
  const fallback: Handler = (_req, res, url) => {
    const type = ASSETS[url.pathname];
    const body = type ? readAsset(url.pathname.slice(1)) : undefined;
    if (body) return void res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' }).end(body);
    sendText(res, 404, 'not found');
  };
  const host = opts.host ?? '127.0.0.1';
  const wantedPort = opts.port ?? 8080;
  const http = await startHttpServer({
    host, port: wantedPort, portFallback: opts.portFallback, routes, fallback, ref: true,
    onError: (e, req) => logger.warn(`${req.method} ${req.url}: ${e.message}`),
  });
  if (wantedPort !== 0 && http.port !== wantedPort) logger.warn(`port ${wantedPort} is taken; using ${http.port}`);
  const port = http.port;

  await admin.connect().catch((e: Error) => logger.warn(`admin connect: ${e.message} (retrying at each poll)`));
  const pollTimer = setInterval(() => {
    void poller.poll().then((s) => {
      if (sse.size > 0) push(`data: ${JSON.stringify({ ...snapshot(), ...s })}\n\n`);
    });
  }, opts.pollMs ?? 2000);
  void poller.poll();
  // Throughput moves every second; lag only at polls: push between polls too.
  const pushTimer = setInterval(() => {
    if (sse.size === 0) return;
    push(`data: ${JSON.stringify(snapshot())}\n\n`);
  }, 1000);

  const following = followMetaReports({
    kafka, prefix: opts.metaPrefix, sinceMs: Date.now() - historyMs, groupId, signal: controller.signal,
    log: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    onReport: (p) => {
      reports++;
      series.add(p);
    },
    onUndecodable: ({ topic }) => {
      undecodable++;
      metrics.undecodable.inc({ topic });
    },
  })
    .then((c) => {
      consumer = c;
      if (c) logger.info(`following ${opts.metaPrefix}.published and ${opts.metaPrefix}.consumed`);
    })
    .catch((e: Error) => logger.warn(`cannot follow the meta topics: ${e.message}`));

  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`;
  return {
    url, port, series, poller, snapshot,
    async close() {
      controller.abort();
      clearInterval(pollTimer);
      clearInterval(pushTimer);
      for (const res of sse) res.end();
      await http.close();
      await poller.stop();
      await following;
      await consumer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
