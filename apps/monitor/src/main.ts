// monitor: the live dashboard (throughput from the meta topics, consumer lag and status, brokers, topic
// sizes) on DASHBOARD_HOST:DASHBOARD_PORT, http://127.0.0.1:8080/ by default, with /metrics and /healthz
// on that same port.
import { runService } from '@movie-stream/service-runtime';
import { startMonitor } from '@movie-stream/monitoring';

runService(
  'monitor',
  [
    'dashboardHost',
    'dashboardPort',
    'lagPollMs',
    'monitorScope',
    'monitorHistoryMinutes',
    'groupId',
    'dashboardMaxClients',
    'dashboardClientBufferBytes',
  ],
  async (ctx) => {
    const { config } = ctx;
    const monitor = await startMonitor({
      kafka: ctx.kafka,
      brokers: config.brokers,
      metaPrefix: config.topicMetaPrefix,
      scope: config.monitorScope,
      host: config.dashboardHost,
      port: config.dashboardPort,
      pollMs: config.lagPollMs,
      historyMinutes: config.monitorHistoryMinutes,
      maxClients: config.dashboardMaxClients,
      clientBufferBytes: config.dashboardClientBufferBytes,
      groupId: config.groupId,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    ctx.health.state = 'running';
    ctx.logger.info(`dashboard on ${monitor.url}`);
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    await monitor.close();
    // The dashboard's port serves /metrics and /healthz: the runtime's own server would be a second port.
  },
  { httpEndpoints: false },
);
