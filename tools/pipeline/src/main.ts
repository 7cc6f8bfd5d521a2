// npm start: run the whole pipeline on a data set and print a summary.
//   npm start -- [--ratings FILE] [--movies FILE] [--out DIR] [--brokers HOST:PORT] [--keep-topics] [--keep-dashboard]
//                [--processors N] [--sinks M] [--sink csv|postgres] [--state file|postgres] [--database-url URL]
import { join } from 'node:path';
import { configWarnings, KAFKA_OPTIONS, loadConfig, OPTIONS } from '@movie-stream/config';
import { kafkaEnv } from '@movie-stream/messaging';
import { describeDatabase, ensureDatabase } from '@movie-stream/movie-db';
import { startMonitor } from '@movie-stream/monitoring';
import { writeReport } from '@movie-stream/report';
import { buildApps, closeAndExit, ensureLocalKafka, formatSummary, PipelineRun } from '@movie-stream/pipeline-run';
import { DEFAULT_DATABASE_URL, parseStartArgs } from './args';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  // What is open before the run (stdio): anything beyond this at the end was left behind.
  const baseline = process.getActiveResourcesInfo();
  const args = parseStartArgs(process.argv.slice(2));
  const argv = args.rest;
  const config = loadConfig(
    ['ratingsFile', 'moviesFile', 'outDir', ...KAFKA_OPTIONS, 'snapshotIntervalMs', 'dashboardPort', 'stopTimeoutMs', 'databaseUrl'],
    argv,
  );
  for (const warning of configWarnings(config)) process.stderr.write(`warning: ${warning}\n`);
  if (!process.env[OPTIONS.brokers.env] && !argv.some((a) => a.startsWith(`--${OPTIONS.brokers.flag}`))) ensureLocalKafka();
  const useDatabase = args.sink === 'postgres' || args.state === 'postgres';
  const databaseUrl = config.databaseUrl ?? DEFAULT_DATABASE_URL;
  if (useDatabase) {
    // The default database is created on first use; an existing server's database may be given instead.
    if (await ensureDatabase(databaseUrl)) log(`created the database ${describeDatabase(databaseUrl)}`);
    log(`PostgreSQL: ${describeDatabase(databaseUrl)} (sink ${args.sink}, processor state ${args.state})`);
  }
  buildApps();
  const keepDashboard = args.keepDashboard;
  const keepTopics = args.keepTopics || keepDashboard;
  const run = new PipelineRun({
    ratingsFile: config.ratingsFile,
    moviesFile: config.moviesFile,
    outDir: config.outDir,
    brokers: config.brokers,
    security: config,
    env: kafkaEnv(config),
    // Consumers commit after each snapshot; a short interval makes the end of the run visible sooner.
    snapshotIntervalMs: Math.min(config.snapshotIntervalMs, 1000),
    // Deleted below, after the monitor is closed: its consumer reads the meta topics, and a consumer whose
    // topics vanish crashes and restarts by itself, racing its own disconnect.
    keepTopics: true,
    processors: args.processors,
    sinks: args.sinks,
    ...(useDatabase ? { database: { url: databaseUrl, sink: args.sink === 'postgres', processor: args.state === 'postgres' } } : {}),
  });
  const scale = run.scaled ? `; ${args.processors} mean-rating-processor and ${args.sinks} movie-data-sink instances` : '';
  log(`run ${run.runId}: topics ${run.runId}.*, logs in ${run.logDir}${scale}`);
  const monitor = await startMonitor({
    brokers: config.brokers,
    security: config,
    metaPrefix: run.topics.metaPrefix,
    scope: `${run.runId}.`,
    port: config.dashboardPort,
    portFallback: true,
  });
  log(`dashboard: ${monitor.url}`);
  const closing: [string, () => Promise<unknown>][] = [['closing the dashboard', () => monitor.close()]];
  if (!keepTopics) closing.push([`deleting the topics ${run.runId}.*`, () => run.deleteTopics()]);
  const end = (code: number) => closeAndExit(code, closing, { deadlineMs: config.stopTimeoutMs, baseline, log });

  // Ctrl-C / SIGTERM: the services stop gracefully (final snapshots), then the runner closes and exits 130.
  let interrupted: Promise<void> | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    log(`${sig}: stopping the services`);
    interrupted = run.stopAll().then(() => end(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closing: the services are in their own process groups and would not hear of it.
  process.on('SIGHUP', onSignal);
  let summary;
  try {
    summary = await run.run();
  } catch (e) {
    if (interrupted) return interrupted;
    log(`npm start failed: ${(e as Error).message}`);
    return end(1);
  }
  // The run's throughput report, written while its meta topics still exist (`npm run report` cannot find
  // them once the run has deleted its topics). A failure costs the report, not the run.
  if (!interrupted) {
    try {
      const r = await writeReport({
        kafka: run.kafka,
        prefix: run.topics.metaPrefix,
        sinceMs: 0,
        outDir: join(run.outDir, 'report'),
        title: `Throughput of ${run.runId}`,
      });
      if (r.svgFile) log(`report: ${r.svgFile} (chart), ${r.jsonFile} (data)`);
    } catch (e) {
      log(`report not written: ${(e as Error).message}`);
    }
  }
  process.stdout.write(formatSummary(summary) + '\n');
  if (keepDashboard && !interrupted) {
    process.removeListener('SIGINT', onSignal);
    log(`dashboard stays up at ${monitor.url}; Ctrl-C ends it`);
    await new Promise((r) => process.once('SIGINT', r));
    if (!args.keepTopics) closing.push([`deleting the topics ${run.runId}.*`, () => run.deleteTopics()]);
  }
  return interrupted ?? end(0);
}

main().catch((e: Error) => {
  log(`npm start failed: ${e.message}`);
  process.exit(1);
});
