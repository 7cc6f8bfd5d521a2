// `npm run bench` arguments: checked before anything starts (a typo must not cost a data set and a run).
import { parseArgs } from 'node:util';
import type { BenchOptions, Variant } from './bench';

export const USAGE = `npm run bench -- [options]
  --ratings N            ratings in the generated data set (default 1000000)
  --movies M             movies in it (default 20000)
  --partitions P         partitions of the ratings topic (default 6)
  --runs R               runs; figures are medians with [min–max] (default 1)
  --seed S               generator seed (default 42)
  --keep-data            keep a data set this bench generated under .bench/data
  --variant NAME:KEY=V[,KEY=V…]
                         also measure the pipeline with this service environment (repeatable)
  --profile DIR          CPU-profile every service into DIR/<variant>/<app>/
  --skip-kafka-perf      skip Kafka's ProducerPerformance/ConsumerPerformance (ratios then NaN)
  -h, --help             this text
Progress on stderr; a table, then one JSON line on stdout. Exit 1 when the result differs from the
independent computation.`;

export function parseVariant(spec: string): Variant {
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

export type BenchArgs =
  | { help: true }
  | { help: false; opts: Omit<BenchOptions, 'brokers' | 'log' | 'benchDir'> & { ratings: number; movies: number; partitions: number } };

export function parseBenchArgs(args: string[]): BenchArgs {
  const { values } = parseArgs({
    args,
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  const int = (name: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  return {
    help: false,
    opts: {
      ratings: int('ratings', values.ratings),
      movies: int('movies', values.movies),
      partitions: int('partitions', values.partitions),
      runs: int('runs', values.runs),
      seed: int('seed', values.seed, 0),
      keepData: values['keep-data'],
      variants: values.variant.map(parseVariant),
      profileDir: values.profile,
      skipKafkaPerf: values['skip-kafka-perf'],
    },
  };
}
