// `npm run bench` arguments: checked before anything starts (a typo must not cost a data set and a run).
import { parseArgs } from 'node:util';
import { DEFAULT_API_MIX, parseApiMix } from './api-load';
import type { BenchOptions, Variant } from './bench';

/** As npm start: one machine, and instances beyond the partitions only idle. */
const MAX_INSTANCES = 32;
/** The bench's own process drives the clients, on the machine the pipeline runs on. */
const MAX_API_CLIENTS = 1024;

export const USAGE = `npm run bench -- [options]
  --ratings N            ratings in the generated data set (default 1000000)
  --movies M             movies in it (default 20000)
  --partitions P         partitions of the ratings topic (default 6)
  --processors N[,N…]    mean-rating-processor instances (default 1; above 1 the run is scaled, outputs merged);
                         a list (1,2,3) measures each count side by side in every run
  --sinks M              movie-data-sink instances (default 1)
  --cpu-per-instance C   each processor and sink instance in a CPU cgroup of its own limited to C of one CPU
                         (e.g. 0.2): instances as small hosts of their own; producers stay unlimited. Needs a
                         writable cgroup (v1 cpu.cfs_quota_us or v2 cpu.max: root); with a --processors list,
                         a scale-out table (throughput × and CPU per rating vs the first count)
  --rolling-restart      restart every processor and sink instance one at a time while the ratings flow
                         (SIGTERM, exit, start again, wait until its group is Stable with it holding partitions);
                         reports the API's staleness meanwhile (a probe rating every 100 ms) and the longest
                         time any partition's committed offset stood still while behind
  --rolling-restart-measure-only
                         the same probes and pause measurement without restarting (paired figures; the probes
                         stop when the ratings are published)
  --static-membership    also measure each configuration with every processor and sink instance a static member
                         of its group (GROUP_INSTANCE_ID per instance: a restart gets its partitions back without
                         a rebalance); columns static and <variant>+static
  --runs R               runs; figures are medians with [min–max] (default 1)
  --seed S               generator seed (default 42)
  --keep-data            keep a data set this bench generated under .bench/data
  --sink postgres        also measure the pipeline with the sink writing PostgreSQL (next to the CSV baseline)
  --state postgres       also measure it with the processor's state in PostgreSQL (with --sink postgres: one
                         variant with both); a database of its own per run on 127.0.0.1:5432, dropped after
  --freshness-samples N  probe ratings timed from publish to visible in GET /api/movies/:id, at most 20 a
                         second while the data set is published (default 300; 0 = none)
  --api-clients N[,N…]   concurrent HTTP clients against the sinks' APIs (round robin over the instances) from the
                         start of the ratings to the drain (default 0 = none); a list (0,16) measures every
                         configuration once per count, side by side (columns NAME and NAME+api=16)
  --api-mix movie=W,top=W,genre=W
                         weights of GET /api/movies/<random rated movie>, ?top=10&minRatings=1 and the same
                         within a genre (default movie=${DEFAULT_API_MIX.movie},top=${DEFAULT_API_MIX.top},genre=${DEFAULT_API_MIX.genre})
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
  | {
      help: false;
      opts: Omit<BenchOptions, 'brokers' | 'log' | 'benchDir'> & {
        ratings: number;
        movies: number;
        partitions: number;
        processors: number;
        sinks: number;
      };
    };

export function parseBenchArgs(args: string[]): BenchArgs {
  const { values } = parseArgs({
    args,
    options: {
      ratings: { type: 'string', default: '1000000' },
      movies: { type: 'string', default: '20000' },
      partitions: { type: 'string', default: '6' },
      processors: { type: 'string', default: '1' },
      sinks: { type: 'string', default: '1' },
      runs: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      'keep-data': { type: 'boolean', default: false },
      variant: { type: 'string', multiple: true, default: [] },
      sink: { type: 'string', default: 'csv' },
      state: { type: 'string', default: 'file' },
      'freshness-samples': { type: 'string', default: '300' },
      profile: { type: 'string' },
      'skip-kafka-perf': { type: 'boolean', default: false },
      'api-clients': { type: 'string', default: '0' },
      'api-mix': { type: 'string' },
      'cpu-per-instance': { type: 'string' },
      'rolling-restart': { type: 'boolean', default: false },
      'rolling-restart-measure-only': { type: 'boolean', default: false },
      'static-membership': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  const int = (name: string, v: string, min = 1, max = Infinity) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
    if (n > max) throw new Error(`--${name} must be at most ${max}, got ${v}`);
    return n;
  };
  if (!['csv', 'postgres'].includes(values.sink)) throw new Error(`--sink must be csv or postgres, got ${values.sink}`);
  if (!['file', 'postgres'].includes(values.state)) throw new Error(`--state must be file or postgres, got ${values.state}`);
  const database = { sink: values.sink === 'postgres', processor: values.state === 'postgres' };
  const name = [database.sink && 'sink=postgres', database.processor && 'state=postgres'].filter(Boolean).join(',');
  // The database modes run after the file-mode baseline in the same invocation: side by side on one machine.
  const databaseVariants: Variant[] = name ? [{ name, env: {}, database }] : [];
  return {
    help: false,
    opts: {
      ratings: int('ratings', values.ratings),
      movies: int('movies', values.movies),
      partitions: int('partitions', values.partitions),
      processors: int('processors', values.processors.split(',')[0], 1, MAX_INSTANCES),
      ...(values.processors.includes(',')
        ? { processorCounts: values.processors.split(',').map((v) => int('processors', v.trim(), 1, MAX_INSTANCES)) }
        : {}),
      sinks: int('sinks', values.sinks, 1, MAX_INSTANCES),
      runs: int('runs', values.runs),
      seed: int('seed', values.seed, 0),
      keepData: values['keep-data'],
      variants: [...databaseVariants, ...values.variant.map(parseVariant)],
      ...(values['static-membership'] ? { staticMembership: true } : {}),
      freshnessSamples: int('freshness-samples', values['freshness-samples'], 0),
      profileDir: values.profile,
      skipKafkaPerf: values['skip-kafka-perf'],
      ...apiOptions(values['api-clients'], values['api-mix'], int),
      ...(values['cpu-per-instance'] !== undefined ? { cpuPerInstance: cpuShare(values['cpu-per-instance']) } : {}),
      ...rollingRestart(values['rolling-restart'], values['rolling-restart-measure-only']),
    },
  };
}

/** --api-clients and --api-mix: nothing when no client is asked for (the bench as without them). */
function apiOptions(
  clients: string,
  mix: string | undefined,
  int: (name: string, v: string, min?: number, max?: number) => number,
): Pick<BenchOptions, 'apiClients' | 'apiMix'> {
  const counts = clients.split(',').map((v) => int('api-clients', v.trim(), 0, MAX_API_CLIENTS));
  if (new Set(counts).size !== counts.length) throw new Error(`--api-clients ${clients}: a count given twice`);
  const apiMix = mix === undefined ? undefined : parseApiMix(mix);
  if (counts.every((n) => n === 0)) {
    if (apiMix) throw new Error('--api-mix without --api-clients: no client would send it');
    return {};
  }
  return { apiClients: counts, ...(apiMix ? { apiMix } : {}) };
}

/** --cpu-per-instance: a share of one CPU, from a hundredth (the kernel's 1 ms quota per 100 ms period) to MAX_INSTANCES CPUs. */
function cpuShare(v: string): number {
  const n = Number(v);
  if (!(n >= 0.01 && n <= MAX_INSTANCES))
    throw new Error(`--cpu-per-instance must be a share of one CPU from 0.01 to ${MAX_INSTANCES}, got ${v}`);
  return n;
}

/** --rolling-restart or its measurement alone (nothing: neither). */
function rollingRestart(restart: boolean, measureOnly: boolean): Pick<BenchOptions, 'rollingRestart'> {
  if (restart && measureOnly) throw new Error('--rolling-restart and --rolling-restart-measure-only: pick one');
  return restart ? { rollingRestart: true } : measureOnly ? { rollingRestart: 'measure-only' } : {};
}
