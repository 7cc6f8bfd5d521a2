// npm run report -- [--since 10m] [--out DIR] [--prefix meta] [--brokers HOST:PORT,...] [--kafka-ssl ...]
// Throughput per service and topic from the meta topics: a table on stdout, an SVG chart and JSON in DIR.
// The Kafka connection is configured like the services' (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SASL_* or flags).
import { parseArgs } from 'node:util';
import { configWarnings, KAFKA_OPTIONS, loadConfig, usage } from '@movie-stream/config';
import { createLogger } from '@movie-stream/logging';
import { kafkaClient } from '@movie-stream/messaging';
import { parseDuration, writeReport } from './report';

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
      since: { type: 'string', default: '10m' },
      out: { type: 'string', default: 'reports' },
      prefix: { type: 'string', default: process.env.TOPIC_META_PREFIX ?? 'meta' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || rest.includes('--help')) {
    process.stdout.write(`npm run report -- [--since 10m|all] [--out reports] [--prefix meta] [Kafka options]\n${usage(KAFKA_OPTIONS)}\n`);
    return;
  }
  const config = loadConfig(KAFKA_OPTIONS, rest);
  const logger = createLogger({ service: 'report', level: 'warn' });
  for (const warning of configWarnings(config)) logger.warn(warning);
  const sinceMs = values.since === 'all' ? 0 : Date.now() - parseDuration(values.since);
  const kafka = kafkaClient(config, 'movie-stream-report', logger);
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
