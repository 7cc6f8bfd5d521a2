// npm run report -- [--since 10m] [--out DIR] [--prefix meta] [--brokers HOST:PORT,...]
// Throughput per service and topic from the meta topics: a table on stdout, an SVG chart and JSON in DIR.
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { parseDuration, writeReport } from './report';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      since: { type: 'string', default: '10m' },
      out: { type: 'string', default: 'reports' },
      prefix: { type: 'string', default: process.env.TOPIC_META_PREFIX ?? 'meta' },
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('npm run report -- [--since 10m|all] [--out reports] [--prefix meta] [--brokers 127.0.0.1:9092]\n');
    return;
  }
  const sinceMs = values.since === 'all' ? 0 : Date.now() - parseDuration(values.since);
  const kafka = new Kafka({ clientId: 'movie-stream-report', brokers: values.brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const r = await writeReport({ kafka, prefix: values.prefix, sinceMs, outDir: values.out });
  if (r.reports === 0) {
    process.stderr.write(`no meta reports in ${values.prefix}.published / ${values.prefix}.consumed since ${values.since}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${r.table}\n\n${r.reports} meta reports; chart ${r.svgFile}, data ${r.jsonFile}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`report failed: ${e.message}\n`);
  process.exit(1);
});
