// The monitor: follows the meta topics into a MetaSeries, polls the cluster, serves the dashboard, the
// JSON API behind it, server-sent events, /metrics and /healthz on one port.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { ServiceMetrics } from '@movie-stream/observability';
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
  /** A configured client (TLS, SASL); default: a plain one for `brokers`. */
  kafka?: Kafka;
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

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const logger = opts.logger ?? { info: () => undefined, warn: (m: string) => process.stderr.write(`monitor: ${m}\n`) };
  const kafka = opts.kafka ?? new Kafka({ clientId: 'movie-stream-monitor', brokers: opts.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 3 } });
  const historyMs = (opts.historyMinutes ?? 30) * 60_000;
  const series = new MetaSeries(historyMs);
  const groupId = opts.groupId ?? `movie-stream.monitor-${process.pid}-${Date.now().toString(36)}`;
  const metrics = opts.metrics ?? new ServiceMetrics('monitor', `${process.pid}`);
  let reports = 0;

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
    throughput: series.rates({ sinceMs: Date.now() - minutes * 60_000 }),
  });

  const sse = new Set<ServerResponse>();
  const json = (res: ServerResponse, body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const minutes = Number(url.searchParams.get('minutes') ?? 10) || 10;
    if (req.method !== 'GET') return void res.writeHead(405).end();
    switch (url.pathname) {
      case '/':
        return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML);
      case '/api/snapshot':
        return json(res, snapshot(minutes));
      case '/api/throughput': {
        const by = url.searchParams.get('by');
        return json(res, series.rates({ sinceMs: Date.now() - minutes * 60_000, by: by === 'instance' || by === 'topic' ? by : 'service' }));
      }
      case '/api/summary':
        return json(res, series.summary({ sinceMs: Date.now() - minutes * 60_000 }));
      case '/api/lag':
        return json(res, poller.latest.groups);
      case '/api/status':
        return json(res, poller.latest.groups.map(({ groupId: g, status, totalLag, reason, state }) => ({ groupId: g, status, totalLag, state, reason })));
      case '/api/brokers':
        return json(res, poller.latest.brokers);
      case '/api/topics':
        return json(res, poller.latest.topics);
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(`data: ${JSON.stringify(snapshot())}\n\n`);
        sse.add(res);
        req.on('close', () => sse.delete(res));
        return;
      case '/metrics':
        return void metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          (e: Error) => res.writeHead(500).end(e.message),
        );
      case '/healthz': {
        const ok = !poller.latest.error;
        return void res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, metaReports: reports, lastPoll: poller.latest.t, error: poller.latest.error }));
      }
      default: {
        const type = ASSETS[url.pathname];
        const body = type ? readAsset(url.pathname.slice(1)) : undefined;
        if (body) return void res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' }).end(body);
        return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    }
  };
  const server = createServer(handle);
  const host = opts.host ?? '127.0.0.1';
  try {
    await listen(server, opts.port ?? 8080, host);
  } catch (e) {
    if (!opts.portFallback || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    logger.warn(`port ${opts.port} is taken; using any free port`);
    await listen(server, 0, host);
  }
  const port = (server.address() as AddressInfo).port;

  await admin.connect().catch((e: Error) => logger.warn(`admin connect: ${e.message} (retrying at each poll)`));
  const pollTimer = setInterval(() => {
    void poller.poll().then((s) => {
      const data = `data: ${JSON.stringify({ ...snapshot(), ...s })}\n\n`;
      for (const res of sse) res.write(data);
    });
  }, opts.pollMs ?? 2000);
  void poller.poll();
  // Throughput moves every second; lag only at polls: push between polls too.
  const pushTimer = setInterval(() => {
    if (sse.size === 0) return;
    const data = `data: ${JSON.stringify(snapshot())}\n\n`;
    for (const res of sse) res.write(data);
  }, 1000);

  const following = followMetaReports({
    kafka, prefix: opts.metaPrefix, sinceMs: Date.now() - historyMs, groupId, signal: controller.signal,
    log: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    onReport: (p) => {
      reports++;
      series.add(p);
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
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await poller.stop();
      await following;
      await consumer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
