// npm run report -- [--since 10m|all] [--out DIR] [--prefix meta] [--brokers HOST:PORT,...]
// Throughput per service and topic from the meta topics: a table on stdout, an SVG chart and JSON in DIR.
// Without --prefix (and TOPIC_META_PREFIX): the newest `npm start` run's meta topics, the whole run.
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { parseDuration, resolveReportTarget, writeReport } from './report';

const USAGE = 'npm run report -- [--since 10m|all] [--out reports] [--prefix run-<id>.meta|meta] [--brokers 127.0.0.1:9092]\n'
  + '  default: the newest npm start run (its run-<id>.meta.* topics), all of it; with --prefix, the last 10 minutes\n';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      since: { type: 'string' },
      out: { type: 'string', default: 'reports' },
      prefix: { type: 'string', default: process.env.TOPIC_META_PREFIX },
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.since !== undefined && values.since !== 'all') parseDuration(values.since); // bad input: fail before connecting
  const kafka = new Kafka({ clientId: 'movie-stream-report', brokers: values.brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const target = await resolveReportTarget(kafka, { prefix: values.prefix, since: values.since });
  if (target.run) process.stderr.write(`newest run: ${target.run.runId} (started ${new Date(target.run.startedMs).toISOString()})\n`);
  const sinceMs = target.since === 'all' ? 0 : Date.now() - parseDuration(target.since);
  const r = await writeReport({
    kafka, prefix: target.prefix, sinceMs, outDir: values.out,
    onUndecodable: (u) => process.stderr.write(`skipped an undecodable meta report at ${u.topic}[${u.partition}]@${u.offset}: ${u.error}\n`),
  });
  if (r.reports === 0) {
    const hint = target.run || values.prefix ? '' : '\n(no run-<id>.meta.* topics on the cluster: npm start deletes its topics when it ends unless --keep-topics)';
    process.stderr.write(`no meta reports in ${target.prefix}.published / ${target.prefix}.consumed since ${target.since}${hint}\n`);
    process.exitCode = 1;
    return;
  }
  const skipped = r.undecodable ? `, ${r.undecodable} undecodable skipped` : '';
  process.stdout.write(`${r.table}\n\n${r.reports} meta reports from ${target.prefix}.*${skipped}; chart ${r.svgFile}, data ${r.jsonFile}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`report failed: ${e.message}\n`);
  process.exit(1);
});
