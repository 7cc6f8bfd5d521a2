// npm run report -- [--since 10m|all] [--out DIR] [--prefix meta] [--brokers HOST:PORT,...] [--kafka-ssl ...]
// Throughput per service and topic from the meta topics: a table on stdout, an SVG chart and JSON in DIR.
// Without --prefix (and TOPIC_META_PREFIX): the newest `npm start` run's meta topics, the whole run.
// The Kafka connection is configured like the services' (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SASL_* or flags).
import { parseArgs } from 'node:util';
import { configWarnings, KAFKA_OPTIONS, loadConfig, OPTIONS, usage } from '@movie-stream/config';
import { createLogger } from '@movie-stream/logging';
import { kafkaClient } from '@movie-stream/messaging';
import { parseDuration, resolveReportTarget, writeReport } from './report';

const USAGE =
  'npm run report -- [--since 10m|all] [--out reports] [--prefix run-<id>.meta|meta] [Kafka options]\n' +
  '  default: the newest npm start run (its run-<id>.meta.* topics), all of it; with --prefix, the last 10 minutes\n';

const OWN = ['--since', '--out', '--prefix'];

async function main(): Promise<void> {
  // The report's own flags here; everything else is a Kafka connection flag for loadConfig (which rejects typos).
  const own: string[] = [];
  const rest: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') own.push(arg);
    else if (!OWN.includes(arg.split('=')[0])) rest.push(arg);
    else if (arg.includes('=')) own.push(arg);
    else own.push(arg, ...(i + 1 < argv.length ? [argv[++i]] : []));
  }
  const { values } = parseArgs({
    args: own,
    options: {
      since: { type: 'string' },
      out: { type: 'string', default: 'reports' },
      // The variable alone, not the option's default ('meta'): unset means the newest run.
      prefix: { type: 'string', default: process.env[OPTIONS.topicMetaPrefix.env] },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || rest.includes('--help')) {
    process.stdout.write(`${USAGE}${usage(KAFKA_OPTIONS)}\n`);
    return;
  }
  if (values.since !== undefined && values.since !== 'all') parseDuration(values.since); // bad input: fail before connecting
  const config = loadConfig(KAFKA_OPTIONS, rest);
  const logger = createLogger({ service: 'report', level: 'warn' });
  for (const warning of configWarnings(config)) logger.warn(warning);
  const kafka = kafkaClient(config, 'movie-stream-report', logger);
  const target = await resolveReportTarget(kafka, { prefix: values.prefix, since: values.since });
  if (target.run) process.stderr.write(`newest run: ${target.run.runId} (started ${new Date(target.run.startedMs).toISOString()})\n`);
  const sinceMs = target.since === 'all' ? 0 : Date.now() - parseDuration(target.since);
  const r = await writeReport({
    kafka,
    prefix: target.prefix,
    sinceMs,
    outDir: values.out,
    onUndecodable: (u) =>
      process.stderr.write(`skipped an undecodable meta report at ${u.topic}[${u.partition}]@${u.offset}: ${u.error}\n`),
  });
  if (r.reports === 0) {
    const hint =
      target.run || values.prefix
        ? ''
        : '\n(no run-<id>.meta.* topics on the cluster: npm start deletes its topics when it ends unless --keep-topics)';
    process.stderr.write(`no meta reports in ${target.prefix}.published / ${target.prefix}.consumed since ${target.since}${hint}\n`);
    process.exitCode = 1;
    return;
  }
  const skipped = r.undecodable ? `, ${r.undecodable} undecodable skipped` : '';
  process.stdout.write(
    `${r.table}\n\n${r.reports} meta reports from ${target.prefix}.*${skipped}; chart ${r.svgFile}, data ${r.jsonFile}\n`,
  );
}

main().catch((e: Error) => {
  process.stderr.write(`report failed: ${e.message}\n`);
  process.exit(1);
});
