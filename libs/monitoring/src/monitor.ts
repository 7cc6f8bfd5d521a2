// The monitor: its core (meta topics → MetaSeries, cluster polls, timers) behind its HTTP layer (the
// dashboard, the JSON API, server-sent events, /metrics and /healthz on one port).
import { expectedConditionCounts, kafkaClient, KafkaClient, KafkaSecurity } from '@movie-stream/messaging';
import { ServiceMetrics } from '@movie-stream/observability';
import type { ClusterPoller } from './cluster-poller';
import { startDashboardServer } from './dashboard-server';
import type { DashboardState } from './dashboard-state';
import { MonitorCore, MonitorLogger } from './monitor-core';
import type { MetaSeries } from './series';

export type { MonitorLogger } from './monitor-core';

export interface MonitorOptions {
  brokers: string[];
  /** Meta topics are <metaPrefix>.published and <metaPrefix>.consumed. */
  metaPrefix: string;
  /** Only groups and topics starting with this; unset = all. */
  scope?: string;
  /** A configured client; default: one for `brokers` and `security`. */
  kafka?: KafkaClient;
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
  /** /api/movies… forwarded to these sinks (MONITOR_API_UPSTREAMS); unset or empty = not served. */
  apiUpstreams?: readonly string[];
  /** MONITOR_API_TIMEOUT_MS; default 10 s. */
  apiTimeoutMs?: number;
  /** MONITOR_API_MAX_REQUESTS; default 256. */
  apiMaxRequests?: number;
}

export interface Monitor {
  url: string;
  port: number;
  series: MetaSeries;
  poller: ClusterPoller;
  /** What /api/state returns: throughput of the last `minutes` and the latest cluster poll. */
  state(minutes?: number): DashboardState;
  /** @deprecated the former name of `state` (a "snapshot" is the storable frame's saved generation). */
  snapshot(minutes?: number): DashboardState;
  close(): Promise<void>;
}

export async function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const logger = opts.logger ?? { info: () => undefined, warn: (m: string) => process.stderr.write(`monitor: ${m}\n`) };
  const kafka = opts.kafka ?? kafkaClient({ ...opts.security, brokers: opts.brokers }, 'movie-stream-monitor', logger);
  const metrics = opts.metrics ?? new ServiceMetrics('monitor', `${process.pid}`, expectedConditionCounts);
  const core = new MonitorCore({
    kafka,
    brokers: opts.brokers,
    metaPrefix: opts.metaPrefix,
    scope: opts.scope,
    pollMs: opts.pollMs,
    historyMinutes: opts.historyMinutes,
    groupId: opts.groupId,
    logger,
    metrics,
  });
  const host = opts.host ?? '127.0.0.1';
  const wantedPort = opts.port ?? 8080;
  const http = await startDashboardServer({
    core,
    host,
    port: wantedPort,
    portFallback: opts.portFallback,
    metrics,
    logger,
    maxClients: opts.maxClients,
    clientBufferBytes: opts.clientBufferBytes,
    api: opts.apiUpstreams?.length
      ? { upstreams: opts.apiUpstreams, timeoutMs: opts.apiTimeoutMs ?? 10_000, maxConcurrent: opts.apiMaxRequests ?? 256 }
      : undefined,
  });
  if (wantedPort !== 0 && http.port !== wantedPort) logger.warn(`port ${wantedPort} is taken; using ${http.port}`);
  await core.start();
  const state = (minutes?: number) => core.state(minutes);
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${http.port}/`,
    port: http.port,
    series: core.series,
    poller: core.poller,
    state,
    snapshot: state,
    async close() {
      // The core's timers stop at once; its Kafka clients close after the HTTP server.
      const closing = core.close();
      await http.close();
      await closing;
    },
  };
}
