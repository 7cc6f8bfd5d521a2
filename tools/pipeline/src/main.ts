// npm start: run the whole pipeline on a data set and print a summary.
//   npm start -- [--ratings FILE] [--movies FILE] [--out DIR] [--brokers HOST:PORT] [--keep-topics]
import { parseArgs } from 'node:util';
import { loadConfig } from '@movie-stream/config';
import { PipelineRun } from './run-pipeline';
import { buildApps, ensureLocalKafka } from './services';
import { formatSummary } from './summary';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'keep-topics': { type: 'boolean' } }, strict: false });
  const argv = process.argv.slice(2).filter((a) => a !== '--keep-topics');
  const config = loadConfig(['ratingsFile', 'moviesFile', 'outDir', 'brokers', 'snapshotIntervalMs'], argv);
  if (!process.env.KAFKA_BROKERS && !argv.some((a) => a.startsWith('--brokers'))) ensureLocalKafka();
  buildApps();
  const run = new PipelineRun({
    ratingsFile: config.ratingsFile,
    moviesFile: config.moviesFile,
    outDir: config.outDir,
    brokers: config.brokers,
    // Consumers commit after each snapshot; a short interval makes the end of the run visible sooner.
    snapshotIntervalMs: Math.min(config.snapshotIntervalMs, 1000),
    keepTopics: values['keep-topics'] === true,
  });
  process.stderr.write(`run ${run.runId}: topics ${run.runId}.*, logs in ${run.logDir}\n`);
  const stop = () => void run.stopAll().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const summary = await run.run();
  process.stdout.write(formatSummary(summary) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`npm start failed: ${e.message}\n`);
  process.exit(1);
});
