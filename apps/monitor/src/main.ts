// monitor: the live dashboard (throughput from the meta topics, consumer lag and status, brokers, topic
// sizes) on DASHBOARD_HOST:DASHBOARD_PORT, http://127.0.0.1:8080/ by default, with /metrics and /healthz
// on that same port; with MONITOR_API_UPSTREAMS, the sinks' /api/movies… there too.
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
    'monitorApiUpstreams',
    'monitorApiTimeoutMs',
    'monitorApiMaxRequests',
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
      apiUpstreams: config.monitorApiUpstreams,
      apiTimeoutMs: config.monitorApiTimeoutMs,
      apiMaxRequests: config.monitorApiMaxRequests,
      groupId: config.groupId,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    ctx.health.state = 'running';
    ctx.logger.info(`dashboard on ${monitor.url}`);
    if (config.monitorApiUpstreams?.length)
      ctx.logger.info(`movies API on ${monitor.url}api/movies, forwarded to ${config.monitorApiUpstreams.join(', ')}`);
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    await monitor.close();
    // The dashboard's port serves /metrics and /healthz: the runtime's own server would be a second port.
  },
  { httpEndpoints: false },
);
