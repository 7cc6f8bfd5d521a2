import { hostname } from 'node:os';
import { Config, ConfigError, configWarnings, KAFKA_OPTIONS, loadConfig, OptionName, redact } from '@movie-stream/config';
import { createLogger, Logger } from '@movie-stream/logging';
import {
  describeExpectedConditions,
  expectedConditionCounts,
  KafkaClient,
  kafkaClient,
  pendingRetries,
  topicNames,
  TopicNames,
} from '@movie-stream/messaging';
import { MetaReporter, MetaSink } from '@movie-stream/messaging';
import { MountedRoutes, ServiceMetrics, startHttpEndpoints } from '@movie-stream/observability';

export type ServiceState = 'starting' | 'running' | 'stopping' | 'failed';

/** The options every service reads. */
export const COMMON_OPTIONS = [
  ...KAFKA_OPTIONS,
  'instanceId',
  'logLevel',
  'logFormat',
  'topicRatings',
  'topicMovies',
  'topicMeanRatings',
  'topicMetaPrefix',
  'ratingsPartitions',
  'ratingsRetentionMs',
  'replicationFactor',
  'metaWindowMs',
  'httpHost',
  'httpPort',
  'stopTimeoutMs',
] as const satisfies readonly OptionName[];

export type CommonOption = (typeof COMMON_OPTIONS)[number];

export interface ServiceContext<N extends OptionName> {
  service: string;
  config: Config<N | CommonOption>;
  logger: Logger;
  kafka: KafkaClient;
  topics: TopicNames;
  /** Aborted on SIGTERM/SIGINT: stop taking work, finish, save, exit. */
  signal: AbortSignal;
  metrics: ServiceMetrics;
  /** What /healthz reports; services move it along. */
  health: { state: ServiceState; [detail: string]: unknown };
  /**
   * Names the step a stopping service is in ("committing the final snapshot's offsets"): when the stop
   * deadline passes, the log line says which step it was still waiting for.
   */
  step(description: string): void;
  /** A meta reporter for this service, counting into the Prometheus metrics too (caller starts/closes it). */
  createMetaReporter(sink: MetaSink): MetaReporter;
  /**
   * Adds routes to the service's HTTP server once main has what they serve (until then /api/* answers 503
   * "starting"). Without the server (HTTP_PORT below 0) it does nothing.
   */
  mountRoutes(routes: MountedRoutes): void;
  /**
   * The base URL of the service's HTTP server as others would reach it: http://<HTTP_HOST>:<port>, with the
   * host name for a wildcard host (0.0.0.0, ::); undefined without the server.
   */
  httpUrl: string | undefined;
}

/**
 * Runs a service's main: config (flags > env > defaults; exit 2 on a bad setting), logger, Kafka client,
 * and graceful shutdown: the first SIGTERM/SIGINT aborts `signal` and lets main finish; a second one
 * exits at once (130). A stop that has not finished after STOP_TIMEOUT_MS (brokers unreachable: publishes
 * and commits wait for them) exits 1, logging the step and the retries it was still waiting for. Exiting
 * there loses nothing: offsets are committed only after the snapshot holding them is on disk, so what is
 * committed is always in the saved state, and the rest is consumed again after a restart.
 */
export function runService<N extends OptionName>(
  service: string,
  options: readonly N[],
  main: (ctx: ServiceContext<N>) => Promise<void>,
  /** httpEndpoints false: the service serves /metrics and /healthz itself (the monitor, on its dashboard port). */
  opts: { httpEndpoints?: boolean } = {},
): void {
  let config: Config<N | CommonOption>;
  try {
    config = loadConfig([...COMMON_OPTIONS, ...options] as (N | CommonOption)[]);
  } catch (e) {
    process.stderr.write(`${service}: ${(e as Error).message}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  const logger = createLogger({
    service,
    instanceId: config.instanceId as string,
    level: config.logLevel as string,
    format: config.logFormat as string,
  });
  const controller = new AbortController();
  const health: ServiceContext<N>['health'] = { state: 'starting' };
  const stopTimeoutMs = config.stopTimeoutMs as number;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn(`second ${sig}: exiting without a final snapshot`);
      process.exit(130);
    }
    logger.info(`${sig} received: shutting down gracefully (deadline ${stopTimeoutMs / 1000} s)`);
    controller.abort(new Error(`${sig} received`));
    // Not unref'd: a stop stuck on unreachable brokers must end here, whatever else keeps the loop alive.
    setTimeout(() => {
      const waiting = [String(health.step ?? health.state), ...pendingRetries()];
      logger.error(
        `stop deadline of ${stopTimeoutMs / 1000} s passed: exiting without finishing the stop; still waiting for: ${waiting.join('; ')}`,
      );
      // Let winston drain.
      setTimeout(() => process.exit(1), 100);
    }, stopTimeoutMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let kafka: KafkaClient;
  try {
    kafka = kafkaClient(config, `${service}-${config.instanceId}`, logger);
  } catch (e) {
    logger.error((e as Error).message);
    process.exit(2);
  }
  for (const warning of configWarnings(config)) logger.warn(warning);
  logger.info(`starting ${service}`, { config: redact(config as object) });
  const started = Date.now();
  const metrics = new ServiceMetrics(service, config.instanceId as string, expectedConditionCounts);
  const step = (description: string) => {
    health.step = description;
    logger.debug(description);
  };
  const topics = topicNames(config as never);
  const createMetaReporter: ServiceContext<N>['createMetaReporter'] = (sink) => {
    const meta = new MetaReporter({
      service,
      instanceId: config.instanceId as string,
      topics,
      windowMs: config.metaWindowMs as number,
      sink,
      logger,
    });
    meta.onRecord = (action, topic, count) => metrics.messages.inc({ action, topic }, count);
    return meta;
  };
  const http =
    opts.httpEndpoints !== false && (config.httpPort as number) >= 0
      ? startHttpEndpoints({
          host: config.httpHost as string,
          port: config.httpPort as number,
          metrics,
          health: () => ({ ok: health.state !== 'failed', ...health }),
        })
          .then((ep) => {
            logger.info(`metrics and health on http://${config.httpHost}:${ep.port}/metrics and /healthz`);
            return ep;
          })
          .catch((e: Error) => {
            logger.error(`cannot serve /metrics on ${config.httpHost}:${config.httpPort}: ${e.message}`);
            process.exit(2);
          })
      : Promise.resolve(undefined);
  http
    .then((ep) => {
      const mountRoutes = (routes: MountedRoutes) => ep?.mount(routes);
      const host = config.httpHost as string;
      const reachable = ['0.0.0.0', '::', ''].includes(host) ? hostname() : host.includes(':') ? `[${host}]` : host;
      return main({
        service,
        config,
        logger,
        kafka,
        topics,
        signal: controller.signal,
        metrics,
        health,
        step,
        createMetaReporter,
        mountRoutes,
        httpUrl: ep ? `http://${reachable}:${ep.port}` : undefined,
      });
    })
    .then(() => {
      // The expected Kafka conditions it retried (logged at debug only), so that they are seen somewhere.
      const retried = describeExpectedConditions();
      logger.info(
        `${service} stopped after ${((Date.now() - started) / 1000).toFixed(1)} s${retried ? `; Kafka conditions retried: ${retried}` : ''}`,
      );
      // Let winston drain, then exit even if a library left a handle open.
      setTimeout(() => process.exit(0), 100).unref();
    })
    .catch((e: Error) => {
      if (controller.signal.aborted && /aborted|received/.test(e.message)) {
        logger.warn(`${service} interrupted before it finished: ${e.message}`);
        setTimeout(() => process.exit(0), 100).unref();
        return;
      }
      health.state = 'failed';
      logger.error(`${service} failed: ${e.message}`, { stack: e.stack });
      // The exit code also when nothing else is left and the process ends before the timer (it used to
      // end with 0 then).
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 100).unref();
    });
}
