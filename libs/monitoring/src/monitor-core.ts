// The monitor's core: follows the meta topics into a MetaSeries, polls the cluster on a timer, and tells
// subscribers (the dashboard's event streams) the fresh state every second. No HTTP here.
import { ClusterAdmin, KafkaClient } from '@movie-stream/messaging';
import type { Health, ServiceMetrics } from '@movie-stream/observability';
import { ClusterPoller } from './cluster-poller';
import type { DashboardState } from './dashboard-state';
import { followMetaReports } from './meta-reader';
import { RestoreTracker } from './restores';
import { MetaSeries } from './series';
import type { TopicFollower } from '@movie-stream/messaging';

export interface MonitorLogger {
  info(msg: string): unknown;
  warn(msg: string): unknown;
}

export interface MonitorCoreOptions {
  kafka: KafkaClient;
  brokers: string[];
  metaPrefix: string;
  scope?: string;
  pollMs?: number;
  historyMinutes?: number;
  groupId?: string;
  logger: MonitorLogger;
  metrics: ServiceMetrics;
}

export class MonitorCore {
  readonly series: MetaSeries;
  readonly restores: RestoreTracker;
  readonly poller: ClusterPoller;
  private readonly admin: ClusterAdmin;
  private readonly historyMs: number;
  private readonly groupId: string;
  private readonly controller = new AbortController();
  private readonly subscribers = new Set<(state: DashboardState) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private following?: Promise<void>;
  private follower?: TopicFollower;
  private reports = 0;
  private restoreReports = 0;
  private undecodable = 0;

  constructor(private readonly opts: MonitorCoreOptions) {
    this.historyMs = (opts.historyMinutes ?? 30) * 60_000;
    this.series = new MetaSeries(this.historyMs);
    this.restores = new RestoreTracker({ retentionMs: this.historyMs });
    this.groupId = opts.groupId ?? `movie-stream.monitor-${process.pid}-${Date.now().toString(36)}`;
    this.admin = new ClusterAdmin(opts.kafka);
    const own = this.groupId;
    this.poller = new ClusterPoller({
      admin: this.admin,
      brokers: opts.brokers,
      scope: opts.scope,
      retentionMs: this.historyMs,
      ignoreGroup: (g) => g === own || g.startsWith('movie-stream.monitor-') || g.startsWith('movie-stream.report-'),
    });
  }

  /** Throughput of the last `minutes`, the latest cluster poll and the partition restores. */
  state(minutes = 10): DashboardState {
    return {
      ...this.poller.latest,
      metaPrefix: this.opts.metaPrefix,
      throughput: this.series.rates({ sinceMs: Date.now() - minutes * 60_000, padLoneSecond: true }),
      restores: this.restores.view(),
    };
  }

  /** What /healthz says: unhealthy while the last cluster poll failed. */
  health(): Health {
    const { t, error } = this.poller.latest;
    return {
      ok: !error,
      metaReports: this.reports,
      restoreReports: this.restoreReports,
      undecodable: this.undecodable,
      lastPoll: t,
      error,
    };
  }

  /** Calls `listener` with the state after each poll and every second; returns the unsubscribe. */
  subscribe(listener: (state: DashboardState) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  private publish(): void {
    // Computed only when someone listens: a monitor nobody watches does no work per second.
    if (this.subscribers.size === 0) return;
    const s = this.state();
    for (const l of this.subscribers) l(s);
  }

  async start(): Promise<void> {
    const { logger, metrics, metaPrefix } = this.opts;
    await this.admin.connect().catch((e: Error) => logger.warn(`admin connect: ${e.message} (retrying at each poll)`));
    this.timers.push(setInterval(() => void this.poller.poll().then(() => this.publish()), this.opts.pollMs ?? 2000));
    void this.poller.poll();
    // Throughput moves every second; lag only at polls: publish between polls too.
    this.timers.push(setInterval(() => this.publish(), 1000));
    this.following = followMetaReports({
      kafka: this.opts.kafka,
      prefix: metaPrefix,
      sinceMs: Date.now() - this.historyMs,
      groupId: this.groupId,
      signal: this.controller.signal,
      log: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      onReport: (p) => {
        this.reports++;
        this.series.add(p);
      },
      onRestore: (r) => {
        this.restoreReports++;
        this.restores.add(r);
      },
      onUndecodable: ({ topic }) => {
        this.undecodable++;
        metrics.undecodable.inc({ topic });
      },
    })
      .then((f) => {
        this.follower = f;
        if (f) logger.info(`following ${metaPrefix}.published and ${metaPrefix}.consumed`);
      })
      .catch((e: Error) => void logger.warn(`cannot follow the meta topics: ${e.message}`));
  }

  /** Stops the timers at once (before the first await), then the poll in progress, then Kafka. */
  async close(): Promise<void> {
    this.controller.abort();
    for (const t of this.timers) clearInterval(t);
    this.subscribers.clear();
    // The admin only after the poll in progress is over (see ClusterPoller.stop).
    await this.poller.stop();
    await this.following;
    await this.follower?.disconnect();
    await this.admin.disconnect();
  }
}
