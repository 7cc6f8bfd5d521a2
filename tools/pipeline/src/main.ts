// npm start: run the whole pipeline on a data set and print a summary.
//   npm start -- [--ratings FILE] [--movies FILE] [--out DIR] [--brokers HOST:PORT] [--keep-topics] [--keep-dashboard]
import { parseArgs } from 'node:util';
import { configWarnings, KAFKA_OPTIONS, loadConfig } from '@movie-stream/config';
import { kafkaEnv } from '@movie-stream/messaging';
import { startMonitor } from '@movie-stream/monitoring';
import { PipelineRun } from './run-pipeline';
import { buildApps, ensureLocalKafka } from './services';
import { formatSummary } from './summary';

async function main(): Promise<void> {
  const own = ['--keep-topics', '--keep-dashboard'];
  const { values } = parseArgs({ options: { 'keep-topics': { type: 'boolean' }, 'keep-dashboard': { type: 'boolean' } }, strict: false });
  const argv = process.argv.slice(2).filter((a) => !own.includes(a));
  const config = loadConfig(['ratingsFile', 'moviesFile', 'outDir', ...KAFKA_OPTIONS, 'snapshotIntervalMs', 'dashboardPort'], argv);
  for (const warning of configWarnings(config)) process.stderr.write(`warning: ${warning}\n`);
  if (!process.env.KAFKA_BROKERS && !argv.some((a) => a.startsWith('--brokers'))) ensureLocalKafka();
  buildApps();
  const keepDashboard = values['keep-dashboard'] === true;
  const run = new PipelineRun({
    ratingsFile: config.ratingsFile,
    moviesFile: config.moviesFile,
    outDir: config.outDir,
    brokers: config.brokers,
    security: config,
    env: kafkaEnv(config),
    // Consumers commit after each snapshot; a short interval makes the end of the run visible sooner.
    snapshotIntervalMs: Math.min(config.snapshotIntervalMs, 1000),
    // The dashboard reads the run's meta topics: they must outlive the run while it is shown.
    keepTopics: values['keep-topics'] === true || keepDashboard,
  });
  process.stderr.write(`run ${run.runId}: topics ${run.runId}.*, logs in ${run.logDir}\n`);
  const monitor = await startMonitor({
    brokers: config.brokers, security: config, metaPrefix: run.topics.metaPrefix, scope: `${run.runId}.`, port: config.dashboardPort, portFallback: true,
  });
  process.stderr.write(`dashboard: ${monitor.url}\n`);
  const stop = () => void Promise.all([run.stopAll(), monitor.close()]).then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const summary = await run.run();
  process.stdout.write(formatSummary(summary) + '\n');
  if (keepDashboard) {
    process.removeListener('SIGINT', stop);
    process.stderr.write(`dashboard stays up at ${monitor.url}; Ctrl-C ends it\n`);
    await new Promise((r) => process.once('SIGINT', r));
    if (values['keep-topics'] !== true) await run.deleteTopics();
  }
  await monitor.close();
}

main().catch((e: Error) => {
  process.stderr.write(`npm start failed: ${e.message}\n`);
  process.exit(1);
});
