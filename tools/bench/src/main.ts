// npm run bench -- [--ratings N] [--movies M] [--partitions P] [--runs R] [--keep-data] [--seed S]
//   [--variant NAME:KEY=V[,KEY=V…]]… [--profile DIR] [--skip-kafka-perf]
// Prints progress on stderr, then a table and, as the last line, one JSON object on stdout.
// Exit 1 when the pipeline's movie-data.csv differs from the independent computation.
import { parseArgs } from 'node:util';
import { buildApps, ensureLocalKafka } from '@movie-stream/pipeline';
import { runBench, type Variant } from './bench';

function parseVariant(spec: string): Variant {
  const i = spec.indexOf(':');
  if (i <= 0) throw new Error(`--variant ${spec}: expected NAME:KEY=VALUE[,KEY=VALUE…]`);
  const env: Record<string, string> = {};
  for (const kv of spec.slice(i + 1).split(',')) {
    const j = kv.indexOf('=');
    if (j <= 0) throw new Error(`--variant ${spec}: "${kv}" is not KEY=VALUE`);
    env[kv.slice(0, j)] = kv.slice(j + 1);
  }
  return { name: spec.slice(0, i), env };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ratings: { type: 'string', default: '1000000' },
      movies: { type: 'string', default: '20000' },
      partitions: { type: 'string', default: '6' },
      runs: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      'keep-data': { type: 'boolean', default: false },
      variant: { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' },
      'skip-kafka-perf': { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const opts = {
    ratings: int('ratings', values.ratings!),
    movies: int('movies', values.movies!),
    partitions: int('partitions', values.partitions!),
    runs: int('runs', values.runs!),
    seed: int('seed', values.seed!, 0),
    keepData: values['keep-data'],
    variants: (values.variant as string[]).map(parseVariant),
    profileDir: values.profile,
    skipKafkaPerf: values['skip-kafka-perf'],
  };
  if (!process.env.KAFKA_BROKERS) ensureLocalKafka();
  buildApps();
  const r = await runBench(opts);
  for (const p of r.problems.slice(0, 20)) process.stderr.write(`MISMATCH ${p}\n`);
  process.stdout.write(`\nmovie-stream bench: ${opts.ratings} ratings, ${opts.movies} movies, ${opts.partitions} partitions, ${opts.runs} run(s)\n`);
  process.stdout.write(r.table + '\n');
  process.stdout.write(JSON.stringify(r.json) + '\n');
  process.exitCode = r.correct ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(2);
});
