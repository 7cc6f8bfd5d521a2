// The benchmark: the real pipeline (bundled apps, the runner's PipelineRun) on a generated data set,
// measured from the outside, next to Kafka's own perf tools on the same broker, and checked against an
// independent computation.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, OPTIONS } from '@movie-stream/config';
import { ClusterAdmin, kafkaClient } from '@movie-stream/messaging';
import { dropDatabase, ensureDatabase } from '@movie-stream/movie-db';
import {
  APPS,
  type AppName,
  configEnv,
  CONSUMER_APPS,
  PipelineRun,
  REPO_ROOT,
  restartSchedule,
  type RollingRestart,
  type ServiceProcess,
  startRollingRestart,
} from '@movie-stream/pipeline-run';
import { compareMovieData, readSemicolonCsv } from '@movie-stream/test-support';
import { freePorts } from '@movie-stream/test-support';
import { GENRES } from '@movie-stream/data-generator';
import { type ApiLoad, type ApiLoadFigures, type ApiMix, apiLoadTable, DEFAULT_API_MIX, startApiLoad, withApiClients } from './api-load';
import { combinedRate, CounterPoller } from './counters';
import { CpuGroups } from './cpu-groups';
import { type DataSet, dataSet, reference, type Reference } from './dataset';
import { FIGURES, type RunFigures } from './figures';
import { isProbeMovie, type PacedProbe, percentile, startFreshnessProbe, startPacedProbe } from './freshness';
import { runKafkaPerf, type KafkaPerf } from './kafka-perf';
import { topicBytes } from './log-dirs';
import { kafkaTransactions } from './transactions';
import { metaRates } from './meta-rates';
import { EXIT_USAGE_HOOK, ProcSampler } from './proc-stats';
import { OffsetStallSampler } from './rolling-restart';
import { configurationOf, SCALE_OUT_MARK, scaleOutRatios, type ScaleOutRow, scaleOutTable } from './scale-out';
import { medians, round, table } from './stats';

import type { Variant } from './variant';
export type { Variant };

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
  /** Also each configuration with every consumer instance a static member of its group (columns `static`, `<variant>+static`). */
  staticMembership?: boolean;
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
  /**
   * Concurrent API clients against the sinks during each run (default [0]: none). Several counts (0,16):
   * each configuration is measured once per count, side by side; a single count loads every configuration.
   */
  apiClients?: number[];
  /** Weights of the API requests (default DEFAULT_API_MIX). */
  apiMix?: ApiMix;
  /**
   * Each consumer instance (processors and sinks; producers stay unlimited) in a CPU cgroup of its own limited to
   * this share of one CPU: instances as small hosts of their own (see cpu-groups.ts).
   */
  cpuPerInstance?: number;
  /**
   * Restart every processor and sink instance one at a time while the ratings flow (rolling-restart.ts), with
   * the staleness of the API and the longest pause of any partition measured meanwhile. 'measure-only': the same
   * probes and pause measurement without restarting anything (the paired figures of the same load).
   */
  rollingRestart?: boolean | 'measure-only';
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
  apiMix: ApiMix;
  /** Movies the API load asks for (those of the data set with ratings). */
  movieIds: number[];
  seed: number;
  /** With --cpu-per-instance: the groups the consumer instances are started in. */
  cpuGroups?: CpuGroups;
  rollingRestart?: boolean | 'measure-only';
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
  const groupName = (app: AppName, i: number) => `run${o.run}-${o.variant.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${app}-${i}`;
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
    // In its group before it runs (a shell that joins the group and execs the service): no work outside the limit,
    // and a restarted instance goes back into the same group.
    ...(o.cpuGroups
      ? {
          commandPrefix: (app: AppName, i: number) =>
            (CONSUMER_APPS as readonly AppName[]).includes(app) ? o.cpuGroups!.commandPrefix(groupName(app, i)) : [],
        }
      : {}),
    ...(databaseUrl && o.variant.database ? { database: { url: databaseUrl, ...o.variant.database } } : {}),
    ...(o.variant.staticMembership ? { staticMembership: true } : {}),
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
      NODE_OPTIONS: [o.variant.env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? OPTIONS.nodeOptions.default, `--require=${EXIT_USAGE_HOOK}`]
        .join(' ')
        .trim(),
    }),
  });
  /** Processes a rolling restart replaced: their CPU and result lines count with the app's. */
  const replaced = new Map<AppName, ServiceProcess[]>();
  /** Every instance's process of an app (the run starts instances 0..n-1), the current ones. */
  const current = (a: AppName) => Array.from({ length: instanceCount(a) }, (_, i) => pr.service(a, i)).filter((s) => s !== undefined);
  /** …and those a rolling restart replaced. */
  const processes = (a: AppName) => [...(replaced.get(a) ?? []), ...current(a)];
  const pids = () =>
    APPS.flatMap((a) => processes(a).flatMap((s) => (s.child.pid !== undefined && s.child.exitCode === null ? [s.child.pid] : [])));
  const sampler = new ProcSampler(pids, usageDir);
  // The consumers' CPU when the producers start and at the drain: the difference is what processing the data set
  // cost, without each instance's start-up (loading, joining, claiming) and stop (the final snapshot), which are
  // costs per instance, not per rating (scale-out at 1M ratings is dominated by them otherwise).
  const consumersCpu = () => {
    const of = (a: AppName) => processes(a).reduce((x, s) => x + sampler.usage(s.child.pid).cpuSeconds, 0);
    return { processor: of('mean-rating-processor'), sink: of('movie-data-sink') };
  };
  let cpuAtStart = { processor: 0, sink: 0 };
  let cpuAtDrain = { processor: NaN, sink: NaN };
  const pollers = {
    processor: ports.slice(0, o.processors).map((port) => new CounterPoller(port, 'consumed', pr.topics.ratings)),
    sink: ports.slice(o.processors).map((port) => new CounterPoller(port, 'consumed', pr.topics.meanRatings)),
  };
  const allPollers = [...pollers.processor, ...pollers.sink];
  let load: ApiLoad | undefined;
  let rolling: { restart: RollingRestart; probe: PacedProbe; stalls: OffsetStallSampler } | undefined;
  const startRolling = () => ({
    // Open loop, every 100 ms, from the producers' start until the last restart's instance has claimed.
    probe: startPacedProbe({ kafka: pr.kafka, brokers: o.brokers, topic: pr.topics.ratings, ports: httpPorts['movie-data-sink']! }),
    stalls: new OffsetStallSampler(
      pr.kafka,
      CONSUMER_APPS.map((a) => pr.layout.consumers[a]),
    ),
    restart: startRollingRestart({
      pr,
      schedule: o.rollingRestart === 'measure-only' ? [] : restartSchedule(o.processors, o.sinks),
      partitions: o.partitions,
      onReplaced: ({ app, instance }) => {
        const s = pr.service(app, instance);
        if (s) replaced.set(app, [...(replaced.get(app) ?? []), s]);
      },
      log: o.log,
    }),
  });
  let rollingFigures: Partial<RunFigures> = {};
  try {
    // e2e starts when the rating-producer is spawned (its startup included, group joins not) and ends
    // when both groups have committed everything, i.e. every rating is in movie-data.csv.
    let t0 = 0;
    let e2e = 0;
    let probe: ReturnType<typeof startFreshnessProbe> | undefined;
    let apiLoad: ApiLoadFigures | undefined;
    const summary = await pr.run({
      waitForConsumerGroups: true,
      beforeProducers: () => {
        sampler.sample();
        cpuAtStart = consumersCpu();
        t0 = performance.now();
        // Freshness under load: probes run while the data set is published. Not until the drain: a probe every
        // few ms keeps the consumers' lag from ever reading 0, and the drain (the end of e2e) then waits for a
        // snapshot and commit that happen to fall between two probes (1M ratings: 9.5 → 13–28 s).
        if (o.freshnessSamples > 0)
          probe = startFreshnessProbe({
            kafka: pr.kafka,
            brokers: o.brokers,
            topic: pr.topics.ratings,
            ports: httpPorts['movie-data-sink']!,
            max: o.freshnessSamples,
          });
        // API load over the whole end-to-end window: while ratings flow and while the sinks drain.
        if (o.variant.apiClients)
          load = startApiLoad({
            ports: httpPorts['movie-data-sink']!,
            clients: o.variant.apiClients,
            mix: o.apiMix,
            movieIds: o.movieIds,
            genres: GENRES,
            seed: o.seed + o.run,
          });
        if (o.rollingRestart) rolling = startRolling();
      },
      afterProducers: async () => {
        // The probe in flight is seen once everything published before it is: it measures the backlog.
        await probe?.stop();
        // Restarts not done when the last rating is published go on while the pipeline drains: the drain
        // waits for them (a group settled without a stopped instance would look drained).
        if (rolling) rollingFigures = await finishRolling(rolling);
      },
      afterDrained: async () => {
        sampler.sample();
        cpuAtDrain = consumersCpu();
        e2e = (performance.now() - t0) / 1000;
        apiLoad = await load?.stop();
        sampler.sample();
        await new Promise((r) => setTimeout(r, 250)); // a last /metrics sample after the drain
        for (const p of allPollers) p.stop();
        if (rolling) Object.assign(rollingFigures, await pauses(rolling.stalls));
      },
    });
    const ratings = summary.ratings;
    // A replaced process stopped gracefully and printed its result line too (else its figures are left out).
    const results = (a: AppName) => [
      ...(replaced.get(a) ?? []).flatMap((s) => (s.stdout.some((l) => l.startsWith('{"result"')) ? [resultLine(s.stdout)] : [])),
      ...current(a).map((s) => resultLine(s.stdout)),
    ];
    const proc = resultOfInstances(results('mean-rating-processor'));
    const sinkResult = resultOfInstances(results('movie-data-sink'));
    const problems0: string[] = [];

    // Rate = messages ÷ (end of the last window − start of the first) of the service's reports: 100 ms windows.
    const metaRate = await metaRates(pr.kafka, pr.topics.metaPrefix);
    // The meta topics are the source when they hold every report (their totals equal the counters);
    // otherwise (reports lost or failing) the /metrics samples are.
    const pick = (m: { count: number; perSec: number }, p: CounterPoller[]) => {
      const c = combinedRate(p);
      // A restarted instance's predecessor counted more after its last /metrics sample: the samples fall short.
      const complete = rolling ? m.count >= c.count : m.count === c.count;
      return m.count > 0 && complete ? { ...m, source: 'meta' } : { ...c, source: 'metrics' };
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
    // The processor's Kafka transactions: the markers in its output topic (transactions.ts).
    const admin = new ClusterAdmin(pr.kafka);
    const meanRatingsEnd = await admin
      .topicSizes((t) => t === pr.topics.meanRatings)
      .then((t) => t[0]?.endOffsets ?? NaN)
      .catch(() => NaN)
      .finally(() => admin.disconnect());
    // Not with restarts: a sink that gains a partition reads it again, so its count is no longer the records written.
    const kafkaTx =
      o.rollingRestart === true
        ? { transactions: NaN, ratingsPerTransaction: NaN }
        : kafkaTransactions(meanRatingsEnd, sink.count, ratings.published);

    const probes = (probe?.published ?? 0) + (rolling?.probe.published ?? 0);
    for (const s of rolling?.restart.steps ?? [])
      if (s.exitCode !== 0) problems0.push(`rolling restart: ${s.app} instance ${s.instance} exited with ${s.exitCode} when stopped`);
    const rows = (await readSemicolonCsv(join(outDir, 'movie-data.csv'))).filter((r) => !isProbeMovie(Number(r.movieId)));
    const problems = [...problems0, ...compareMovieData(rows, o.reference.means, o.reference.movieIds)];
    const counted = rows.reduce((s, r) => s + Number(r.rating_count), 0);
    if (counted !== o.data.ratings) problems.push(`movie-data.csv counts ${counted} ratings, expected ${o.data.ratings}`);
    // Restarts hand partitions over: what was consumed after the last commit is consumed again by the next owner
    // (the state stays exact; the count of deliveries does not), so only fewer than expected is wrong then.
    const reconsumed = processor.count - (o.data.ratings + probes);
    if (rolling) rollingFigures.rolling_restart_reconsumed = processor.source === 'meta' ? reconsumed : NaN;
    if (rolling ? reconsumed < 0 && processor.source === 'meta' : reconsumed !== 0)
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
    // Of the CFS periods in which an app's instances wanted CPU, the % in which their quota ran out (at the cap).
    const throttledPct = (a: AppName) => {
      const t = Array.from({ length: instanceCount(a) }, (_, i) => o.cpuGroups!.throttling(groupName(a, i)));
      return round(
        (100 * t.reduce((x, e) => x + e.throttled, 0)) /
          Math.max(
            1,
            t.reduce((x, e) => x + e.periods, 0),
          ),
      );
    };
    const figures: RunFigures = {
      variant: o.variant.name,
      run: o.run,
      processors: o.processors,
      sinks: o.sinks,
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
      kafka_transactions_per_s: round(kafkaTx.transactions / e2e),
      ratings_per_kafka_transaction: round(kafkaTx.ratingsPerTransaction),
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
      processor_run_cpu_s_per_1m: per1m(cpuAtDrain.processor - cpuAtStart.processor),
      sink_run_cpu_s_per_1m: per1m(cpuAtDrain.sink - cpuAtStart.sink),
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
      ...(o.cpuGroups
        ? {
            cpu_per_instance: o.cpuGroups.share,
            processor_throttled_pct: throttledPct('mean-rating-processor'),
            sink_throttled_pct: throttledPct('movie-data-sink'),
          }
        : {}),
      ...rollingFigures,
      ...(apiLoad ? { api_load: { ...apiLoad, e2e_ratings_per_s: round(ratings.published / e2e), sink_per_s: round(sink.perSec) } } : {}),
    };
    return { figures, problems };
  } finally {
    await load?.stop(); // a run that failed before the drain
    if (rolling) {
      await rolling.restart.done.catch(() => undefined);
      await rolling.probe.stop().catch(() => undefined);
      await rolling.stalls.stop();
    }
    sampler.stop();
    for (const p of allPollers) p.stop();
    await pr.deleteTopics().catch((e) => o.log(`could not delete topics: ${(e as Error).message}`));
    if (databaseUrl) await dropDatabase(databaseUrl).catch((e) => o.log(`could not drop ${databaseUrl}: ${(e as Error).message}`));
  }
}

/** The rolling restart's end (afterProducers): every restart claimed, then every probe sent visible. */
async function finishRolling(r: { restart: RollingRestart; probe: PacedProbe }): Promise<Partial<RunFigures>> {
  let unresolved = 0;
  try {
    await r.restart.done;
  } finally {
    // Stopped once the last restarted instance has claimed: the staleness samples cover the restarts, not the drain.
    unresolved = (await r.probe.stop()).unresolved;
  }
  const samples = r.probe.ledger.samples;
  return {
    rolling_restarts: r.restart.completed,
    rolling_restart_staleness_p50_ms: round(percentile(samples, 50)),
    rolling_restart_staleness_p99_ms: round(percentile(samples, 99)),
    rolling_restart_staleness_max_ms: round(Math.max(...samples)),
    rolling_restart_samples: samples.length,
    rolling_restart_probes_unresolved: unresolved,
    rolling_restart_max_claim_ms: round(Math.max(0, ...r.restart.steps.map((s) => s.ms))),
  };
}

/** The longest time any partition was not consumed, per group and over both (afterDrained). */
async function pauses(stalls: OffsetStallSampler): Promise<Partial<RunFigures>> {
  await stalls.stop();
  const [processor, sink] = stalls.stalls();
  return {
    rolling_restart_pause_ms: round(Math.max(processor.ms, sink.ms)),
    rolling_restart_processor_pause_ms: round(processor.ms),
    rolling_restart_sink_pause_ms: round(sink.ms),
  };
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const brokers = opts.brokers ?? loadConfig(['brokers'], []).brokers;
  const benchDir = resolve(opts.benchDir ?? join(REPO_ROOT, '.bench'));
  const seed = opts.seed ?? 42;
  // First: where no cgroup is writable, fail before a data set is generated.
  const cpuGroups = opts.cpuPerInstance ? CpuGroups.create(opts.cpuPerInstance) : undefined;
  if (cpuGroups) log(`consumer instances in CPU cgroups (v${cpuGroups.hierarchy.version}) of ${cpuGroups.share} CPU each`);
  const { data, dir, generated } = await dataSet(benchDir, opts.ratings, opts.movies, seed).catch(async (e: Error) => {
    await cpuGroups?.remove();
    throw e;
  });
  log(`data: ${data.ratings} ratings over ${data.movies} movies in ${dir}${generated ? ' (generated)' : ' (cached)'}`);
  try {
    const ref = await reference(data);
    // A list of processor counts makes each count of each configuration (the baseline and every --variant) a
    // column of its own, measured side by side: "3-processors", or "<variant>@3p" with variants.
    const counts = opts.processorCounts ?? [];
    const plain: Variant[] = [{ name: 'baseline', env: {} }, ...(opts.variants ?? [])];
    // --static-membership: each configuration again with static members, beside it.
    const named: Variant[] = opts.staticMembership
      ? [...plain, ...plain.map((v) => ({ ...v, name: v.name === 'baseline' ? 'static' : `${v.name}+static`, staticMembership: true }))]
      : plain;
    const configurations: Variant[] =
      counts.length > 1
        ? named.flatMap((v) =>
            counts.map((n) => ({
              ...v,
              processors: n,
              name: named.length > 1 ? `${v.name}${SCALE_OUT_MARK}${n}p` : `${n}-processor${n > 1 ? 's' : ''}`,
            })),
          )
        : named;
    const variants = withApiClients(configurations, opts.apiClients ?? [0]);
    const movieIds = [...ref.means.keys()];
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
          apiMix: opts.apiMix ?? DEFAULT_API_MIX,
          movieIds,
          seed,
          cpuGroups,
          rollingRestart: opts.rollingRestart,
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
    const scaleOut = counts.length > 1 ? withScaleOut(all, counts[0], opts.cpuPerInstance) : undefined;
    const baseline = medians(columns[0].runs);
    const loadTable = apiLoadTable(
      columns.map((c) => ({ name: c.name, load: medians(c.runs).api_load as unknown as ApiLoadFigures | undefined })),
    );
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
      ...(opts.cpuPerInstance ? { cpu_per_instance: opts.cpuPerInstance } : {}),
      ...(scaleOut ? { scale_out: scaleOut.rows(columns) } : {}),
      ...(opts.runs > 1 || variants.length > 1 ? { runs: all } : {}),
    };
    delete json.run;
    const tables = [table(FIGURES, columns), loadTable, scaleOut?.table(columns)].filter(Boolean).join('\n\n');
    return { json, table: tables, runs: all, problems, correct: problems.length === 0 };
  } finally {
    if (generated && !opts.keepData) rmSync(dir, { recursive: true, force: true });
    // The runs' services have exited or were SIGKILLed (PipelineRun.run); remove() waits for those still exiting.
    await cpuGroups?.remove().catch((e) => log(`${(e as Error).message} (remove it by hand: rmdir, children first)`));
  }
}

/**
 * --processors with several counts: each run's entry gets its throughput and processor CPU per rating relative to
 * the first count's in the same run (the same configuration, the same API clients); per column, the medians as rows and a table.
 */
function withScaleOut(all: RunFigures[], firstCount: number, cpuPerInstance: number | undefined) {
  const clients = (r: RunFigures) => r.api_load?.clients ?? 0;
  for (const r of all) {
    const configuration = (x: RunFigures) => configurationOf(x.variant);
    const base = all.find(
      (b) => b.run === r.run && b.processors === firstCount && clients(b) === clients(r) && configuration(b) === configuration(r),
    );
    if (base) Object.assign(r, scaleOutRatios(r, base));
  }
  const rows = (columns: { name: string; runs: Record<string, unknown>[] }[]): ScaleOutRow[] =>
    columns.map((c) => {
      const m = medians(c.runs) as unknown as ScaleOutRow;
      return {
        name: c.name,
        processors: m.processors,
        e2e_ratings_per_s: m.e2e_ratings_per_s,
        processor_cpu_s_per_1m: m.processor_cpu_s_per_1m,
        processor_run_cpu_s_per_1m: m.processor_run_cpu_s_per_1m,
        throughput_x: m.throughput_x,
        processor_cpu_per_rating_pct: m.processor_cpu_per_rating_pct,
        processor_run_cpu_per_rating_pct: m.processor_run_cpu_per_rating_pct,
      };
    });
  return { rows, table: (columns: { name: string; runs: Record<string, unknown>[] }[]) => scaleOutTable(rows(columns), cpuPerInstance) };
}
