// The benchmark: the real pipeline (bundled apps, the runner's PipelineRun) on a generated data set,
// measured from the outside, next to Kafka's own perf tools on the same broker, and checked against an
// independent computation.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '@movie-stream/config';
import { kafkaClient } from '@movie-stream/messaging';
import { dropDatabase, ensureDatabase } from '@movie-stream/movie-db';
import { APPS, type AppName, configEnv, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import { compareMovieData, readSemicolonCsv } from '@movie-stream/test-support';
import { freePorts } from '@movie-stream/test-support';
import { combinedRate, CounterPoller } from './counters';
import { type DataSet, dataSet, reference, type Reference } from './dataset';
import { FIGURES, type RunFigures } from './figures';
import { isProbeMovie, percentile, startFreshnessProbe } from './freshness';
import { runKafkaPerf, type KafkaPerf } from './kafka-perf';
import { topicBytes } from './log-dirs';
import { metaRates } from './meta-rates';
import { EXIT_USAGE_HOOK, ProcSampler } from './proc-stats';
import { medians, round, table } from './stats';

export interface Variant {
  name: string;
  /** Extra service environment, e.g. { PUBLISH_BATCH_SIZE: '5000' }. */
  env: Record<string, string>;
  /** Instances of this configuration (default: the bench's --processors / --sinks). */
  processors?: number;
  sinks?: number;
  /** Database modes: the sink and/or the processor keep their state in PostgreSQL (a database per run). */
  database?: { sink: boolean; processor: boolean };
}

/** The server the database variants use (a database of their own is created on it per run and dropped after). */
export const BENCH_DATABASE_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchOptions {
  ratings: number;
  movies: number;
  partitions: number;
  /** mean-rating-processor instances (default 1); above 1 (or sinks above 1) the run is scaled and its outputs merged. */
  processors?: number;
  /** movie-data-sink instances (default 1). */
  sinks?: number;
  /** Several processor counts (--processors 1,2,3): each measured as a configuration of its own in every run. */
  processorCounts?: number[];
  runs: number;
  seed?: number;
  brokers?: string[];
  /** Keep a data set this bench generated under <benchDir>/data (one found there is always reused and kept). */
  keepData?: boolean;
  /** Default <repo>/.bench (git-ignored). */
  benchDir?: string;
  /** Configurations measured side by side in every run, after the baseline. */
  variants?: Variant[];
  /** Write .cpuprofile files of every service under <profileDir>/<variant>/<app>/. */
  profileDir?: string;
  /** Skip ProducerPerformance/ConsumerPerformance (ratios then NaN). */
  skipKafkaPerf?: boolean;
  /** PostgreSQL server of the database variants (any database of it; default BENCH_DATABASE_SERVER). */
  databaseServer?: string;
  /** Probe ratings whose API freshness is measured per run (default 300). */
  freshnessSamples?: number;
  log?: (line: string) => void;
}

export interface BenchResult {
  json: Record<string, unknown>;
  table: string;
  runs: RunFigures[];
  problems: string[];
  correct: boolean;
}

/** A consumer's result line: the file mode's snapshot figures or the database mode's transaction counts. */
type ResultLine = { snapshots?: number; maxCopyMs?: number; transactions?: number };

function resultLine(stdout: string[]): ResultLine {
  const line = stdout.find((l) => l.startsWith('{"result"'));
  if (!line) throw new Error('a consumer printed no result line');
  return JSON.parse(line).result;
}

/** A consumer's instances together: snapshots summed, the longest block of any. */
function resultOfInstances(lines: ResultLine[]): { snapshots: number; maxCopyMs: number; transactions: number } {
  return {
    snapshots: lines.reduce((a, r) => a + (r.snapshots ?? 0), 0),
    maxCopyMs: Math.max(...lines.map((r) => r.maxCopyMs ?? 0)),
    transactions: lines.reduce((a, r) => a + (r.transactions ?? 0), 0),
  };
}

async function runPipelineOnce(o: {
  data: DataSet;
  reference: Reference;
  variant: Variant;
  run: number;
  perf: KafkaPerf | undefined;
  brokers: string[];
  benchDir: string;
  partitions: number;
  processors: number;
  sinks: number;
  profileDir?: string;
  databaseServer: string;
  freshnessSamples: number;
  log: (l: string) => void;
}): Promise<{ figures: RunFigures; problems: string[] }> {
  const outDir = join(o.benchDir, 'out', o.variant.name);
  const usageDir = join(outDir, 'usage');
  rmSync(usageDir, { recursive: true, force: true });
  mkdirSync(usageDir, { recursive: true });
  // One /metrics port per consumer instance (the rate fallback polls them).
  const ports = await freePorts(o.processors + o.sinks);
  const httpPorts: Partial<Record<AppName, number[]>> = {
    'mean-rating-processor': ports.slice(0, o.processors),
    'movie-data-sink': ports.slice(o.processors),
  };
  const instanceCount = (a: AppName) => httpPorts[a]?.length ?? 1;
  let databaseUrl: string | undefined;
  if (o.variant.database) {
    const u = new URL(o.databaseServer);
    u.pathname = `/movie_stream_bench_${process.pid}_${o.run}`;
    databaseUrl = u.toString();
    await dropDatabase(databaseUrl);
    await ensureDatabase(databaseUrl);
  }
  const pr = new PipelineRun({
    ratingsFile: o.data.ratingsFile,
    moviesFile: o.data.moviesFile,
    outDir,
    brokers: o.brokers,
    runId: `bench-${Date.now().toString(36)}-${process.pid}`,
    ratingsPartitions: o.partitions,
    processors: o.processors,
    sinks: o.sinks,
    snapshotIntervalMs: 1000, // what npm start uses: commits (and so "drained") follow each snapshot
    log: o.log,
    // Read below, after the consumers stopped; deleted at the end.
    keepTopics: true,
    ...(databaseUrl && o.variant.database ? { database: { url: databaseUrl, ...o.variant.database } } : {}),
    env: {
      // Finer meta windows (default 1 s) so first-to-last-message spans are precise to 100 ms.
      ...configEnv({ metaWindowMs: 100 }),
      BENCH_USAGE_DIR: usageDir,
      ...o.variant.env,
    },
    appEnv: (app, i) => ({
      ...(httpPorts[app] ? configEnv({ httpPort: httpPorts[app][i] }) : {}),
      ...(o.profileDir
        ? { BENCH_CPU_PROF_DIR: join(resolve(o.profileDir), o.variant.name, instanceCount(app) > 1 ? `${app}-${i}` : app) }
        : {}),
      NODE_OPTIONS: [o.variant.env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '', `--require=${EXIT_USAGE_HOOK}`].join(' ').trim(),
    }),
  });
  /** Every instance's process of an app (the run starts instances 0..n-1). */
  const processes = (a: AppName) => Array.from({ length: instanceCount(a) }, (_, i) => pr.service(a, i)).filter((s) => s !== undefined);
  const pids = () =>
    APPS.flatMap((a) => processes(a).flatMap((s) => (s.child.pid !== undefined && s.child.exitCode === null ? [s.child.pid] : [])));
  const sampler = new ProcSampler(pids, usageDir);
  const pollers = {
    processor: ports.slice(0, o.processors).map((port) => new CounterPoller(port, 'consumed', pr.topics.ratings)),
    sink: ports.slice(o.processors).map((port) => new CounterPoller(port, 'consumed', pr.topics.meanRatings)),
  };
  const allPollers = [...pollers.processor, ...pollers.sink];
  try {
    // e2e starts when the rating-producer is spawned (its startup included, group joins not) and ends
    // when both groups have committed everything, i.e. every rating is in movie-data.csv.
    let t0 = 0;
    let e2e = 0;
    let probe: ReturnType<typeof startFreshnessProbe> | undefined;
    const summary = await pr.run({
      waitForConsumerGroups: true,
      beforeProducers: () => {
        t0 = performance.now();
        // Freshness under load: probes run while the data set streams through (until the drain).
        if (o.freshnessSamples > 0)
          probe = startFreshnessProbe({
            kafka: pr.kafka,
            brokers: o.brokers,
            topic: pr.topics.ratings,
            ports: httpPorts['movie-data-sink']!,
            max: o.freshnessSamples,
          });
      },
      afterDrained: async () => {
        e2e = (performance.now() - t0) / 1000;
        await probe?.stop();
        sampler.sample();
        await new Promise((r) => setTimeout(r, 250)); // a last /metrics sample after the drain
        for (const p of allPollers) p.stop();
      },
    });
    const ratings = summary.ratings;
    const proc = resultOfInstances(processes('mean-rating-processor').map((s) => resultLine(s.stdout)));
    const sinkResult = resultOfInstances(processes('movie-data-sink').map((s) => resultLine(s.stdout)));

    // Rate = messages ÷ (end of the last window − start of the first) of the service's reports: 100 ms windows.
    const metaRate = await metaRates(pr.kafka, pr.topics.metaPrefix);
    // The meta topics are the source when they hold every report (their totals equal the counters);
    // otherwise (reports lost or failing) the /metrics samples are.
    const pick = (m: { count: number; perSec: number }, p: CounterPoller[]) => {
      const c = combinedRate(p);
      return m.count > 0 && m.count === c.count ? { ...m, source: 'meta' } : { ...c, source: 'metrics' };
    };
    const processor = pick(metaRate('mean-rating-processor', pr.topics.ratings), pollers.processor);
    const sink = pick(metaRate('movie-data-sink', pr.topics.meanRatings), pollers.sink);
    if (processor.source !== 'meta' || sink.source !== 'meta')
      o.log(`meta topics incomplete (see the services' logs): rates from /metrics samples`);

    // Bytes on the broker (what KAFKA_COMPRESSION saves), read while the run's topics are still kept.
    const onBroker = await topicBytes(REPO_ROOT, o.brokers, [pr.topics.ratings, pr.topics.meanRatings]).catch((e) => {
      o.log(`could not read the topics' sizes (LogDirsCommand): ${(e as Error).message}`);
      return new Map<string, number>();
    });
    const topicMb = (topic: string) => round((onBroker.get(topic) ?? NaN) / 1e6);

    const probes = probe?.published ?? 0;
    const rows = (await readSemicolonCsv(join(outDir, 'movie-data.csv'))).filter((r) => !isProbeMovie(Number(r.movieId)));
    const problems = compareMovieData(rows, o.reference.means, o.reference.movieIds);
    const counted = rows.reduce((s, r) => s + Number(r.rating_count), 0);
    if (counted !== o.data.ratings) problems.push(`movie-data.csv counts ${counted} ratings, expected ${o.data.ratings}`);
    if (processor.count !== o.data.ratings + probes)
      problems.push(
        `processor ${processor.source} counts ${processor.count} ratings consumed, expected ${o.data.ratings} + ${probes} probes`,
      );

    // Per service: CPU summed over its instances, peak RSS of the largest instance.
    const u = (a: AppName) => {
      const each = processes(a).map((s) => sampler.usage(s.child.pid));
      return { cpuSeconds: each.reduce((x, e) => x + e.cpuSeconds, 0), peakRssMb: Math.max(0, ...each.map((e) => e.peakRssMb)) };
    };
    const kp = o.perf?.producerPerSec ?? NaN;
    const kc = o.perf?.consumerPerSec ?? NaN;
    const producerPerSec = ratings.published / ratings.seconds;
    const cpu = {
      producer: u('rating-producer').cpuSeconds,
      processor: u('mean-rating-processor').cpuSeconds,
      sink: u('movie-data-sink').cpuSeconds,
      movieProducer: u('movie-producer').cpuSeconds,
    };
    const per1m = (s: number) => round((s * 1e6) / ratings.published);
    const figures: RunFigures = {
      variant: o.variant.name,
      run: o.run,
      ratings: ratings.published,
      e2e_seconds: round(e2e),
      e2e_ratings_per_s: round(ratings.published / e2e),
      producer_per_s: round(producerPerSec),
      processor_per_s: round(processor.perSec),
      sink_per_s: round(sink.perSec),
      // The sink consumes every MeanRating the processor publishes (its publisher reports no meta).
      mean_rating_messages: sink.count,
      ratings_per_mean_rating: round(processor.count / Math.max(1, sink.count)),
      // Batch transactions (each with its offsets) of the processor and the sink together, over the run.
      db_transactions_per_s: round((proc.transactions + sinkResult.transactions) / e2e),
      api_freshness_p50_ms: round(percentile(probe?.samples ?? [], 50)),
      api_freshness_p99_ms: round(percentile(probe?.samples ?? [], 99)),
      api_freshness_samples: probe?.samples.length ?? 0,
      kafka_producer_perf_per_s: round(kp),
      kafka_consumer_perf_per_s: round(kc),
      e2e_vs_kafka: round(ratings.published / e2e / kp),
      producer_vs_kafka: round(producerPerSec / kp),
      processor_vs_kafka: round(processor.perSec / kc),
      sink_vs_kafka: round(sink.perSec / kc),
      producer_cpu_s: round(cpu.producer),
      processor_cpu_s: round(cpu.processor),
      sink_cpu_s: round(cpu.sink),
      movie_producer_cpu_s: round(cpu.movieProducer),
      producer_cpu_s_per_1m: per1m(cpu.producer),
      processor_cpu_s_per_1m: per1m(cpu.processor),
      sink_cpu_s_per_1m: per1m(cpu.sink),
      movie_producer_cpu_s_per_1m: per1m(cpu.movieProducer),
      services_cpu_s_per_1m: per1m(cpu.producer + cpu.processor + cpu.sink + cpu.movieProducer),
      producer_peak_rss_mb: round(u('rating-producer').peakRssMb),
      processor_peak_rss_mb: round(u('mean-rating-processor').peakRssMb),
      sink_peak_rss_mb: round(u('movie-data-sink').peakRssMb),
      ratings_topic_mb: topicMb(pr.topics.ratings),
      mean_ratings_topic_mb: topicMb(pr.topics.meanRatings),
      snapshot_max_block_ms: round(proc.maxCopyMs),
      sink_snapshot_max_block_ms: round(sinkResult.maxCopyMs),
      processor_snapshots: proc.snapshots,
      rate_source: processor.source === 'meta' && sink.source === 'meta' ? 'meta' : 'metrics',
      correct: problems.length === 0,
    };
    return { figures, problems };
  } finally {
    sampler.stop();
    for (const p of allPollers) p.stop();
    await pr.deleteTopics().catch((e) => o.log(`could not delete topics: ${(e as Error).message}`));
    if (databaseUrl) await dropDatabase(databaseUrl).catch((e) => o.log(`could not drop ${databaseUrl}: ${(e as Error).message}`));
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const brokers = opts.brokers ?? loadConfig(['brokers'], []).brokers;
  const benchDir = resolve(opts.benchDir ?? join(REPO_ROOT, '.bench'));
  const seed = opts.seed ?? 42;
  const { data, dir, generated } = await dataSet(benchDir, opts.ratings, opts.movies, seed);
  log(`data: ${data.ratings} ratings over ${data.movies} movies in ${dir}${generated ? ' (generated)' : ' (cached)'}`);
  try {
    const ref = await reference(data);
    // A list of processor counts makes each count a configuration of its own, measured side by side.
    const counts = opts.processorCounts ?? [];
    const variants: Variant[] =
      counts.length > 1
        ? counts.map((n) => ({ name: `${n}-processor${n > 1 ? 's' : ''}`, env: {}, processors: n }))
        : [{ name: 'baseline', env: {} }, ...(opts.variants ?? [])];
    const all: RunFigures[] = [];
    const problems: string[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      let perf: KafkaPerf | undefined;
      if (!opts.skipKafkaPerf) {
        // Sequential, never beside the pipeline: on 2 cores the two would measure each other.
        const kafka = kafkaClient({ brokers }, `bench-perf-${process.pid}`, { warn: log });
        perf = await runKafkaPerf({
          repoRoot: REPO_ROOT,
          kafka,
          brokers,
          topic: `bench-perf-${Date.now().toString(36)}-${process.pid}`,
          partitions: opts.partitions,
          records: data.ratings,
        });
        log(`run ${run}: ProducerPerformance ${perf.producerLine}`);
        log(`run ${run}: ConsumerPerformance ${perf.consumerLine}`);
      }
      for (const variant of variants) {
        log(`run ${run}/${opts.runs}, ${variant.name}: pipeline on ${data.ratings} ratings …`);
        const r = await runPipelineOnce({
          data,
          reference: ref,
          variant,
          run,
          perf,
          brokers,
          benchDir,
          partitions: opts.partitions,
          processors: variant.processors ?? opts.processors ?? 1,
          sinks: variant.sinks ?? opts.sinks ?? 1,
          profileDir: opts.profileDir,
          databaseServer: opts.databaseServer ?? BENCH_DATABASE_SERVER,
          freshnessSamples: opts.freshnessSamples ?? 300,
          log,
        });
        all.push(r.figures);
        problems.push(...r.problems.map((p) => `${variant.name} run ${run}: ${p}`));
        log(
          `run ${run}, ${variant.name}: ${r.figures.e2e_seconds} s end to end, ${r.figures.e2e_ratings_per_s} ratings/s, correct ${r.figures.correct}`,
        );
      }
    }
    const columns = variants.map((v) => ({
      name: v.name,
      runs: all.filter((r) => r.variant === v.name) as unknown as Record<string, unknown>[],
    }));
    const baseline = medians(columns[0].runs);
    const json: Record<string, unknown> = {
      ...baseline,
      ratings: data.ratings,
      movies: data.movies,
      partitions: opts.partitions,
      processors: opts.processors ?? 1,
      sinks: opts.sinks ?? 1,
      rate_source: all.every((r) => r.rate_source === 'meta') ? 'meta' : 'metrics',
      correct: problems.length === 0,
      ...(variants.length > 1
        ? { variants: Object.fromEntries(columns.map((c, i) => [c.name, { env: variants[i].env, ...medians(c.runs) }])) }
        : {}),
      ...(opts.runs > 1 || variants.length > 1 ? { runs: all } : {}),
    };
    delete json.run;
    return { json, table: table(FIGURES, columns), runs: all, problems, correct: problems.length === 0 };
  } finally {
    if (generated && !opts.keepData) rmSync(dir, { recursive: true, force: true });
  }
}
