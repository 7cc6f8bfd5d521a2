// The benchmark: the real pipeline (bundled apps, PipelineRun) on a generated data set, measured from the
// outside, next to Kafka's own perf tools on the same broker, and checked against an independent computation.
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Kafka } from 'kafkajs';
import { generateDataset } from '@movie-stream/data-generator';
import { compareMovieData, computeReferenceMeans, readSemicolonCsv, type ReferenceMean } from '@movie-stream/test-support';
import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { PipelineRun, REPO_ROOT, type AppName, type PipelineOptions } from '@movie-stream/pipeline';
import { CounterPoller, freePorts } from './counters';
import { runKafkaPerf, type KafkaPerf } from './kafka-perf';
import { EXIT_USAGE_HOOK, ProcSampler } from './proc-stats';
import { medians, round, table } from './stats';

export interface Variant {
  name: string;
  /** Extra service environment, e.g. { PUBLISH_BATCH_SIZE: '5000' }. */
  env: Record<string, string>;
}

export interface BenchOptions {
  ratings: number;
  movies: number;
  partitions: number;
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
  log?: (line: string) => void;
}

/** Figures of one pipeline run (snake_case: they go into the JSON line as they are). */
export interface RunFigures {
  variant: string;
  run: number;
  ratings: number;
  e2e_seconds: number;
  e2e_ratings_per_s: number;
  producer_per_s: number;
  processor_per_s: number;
  sink_per_s: number;
  mean_rating_messages: number;
  ratings_per_mean_rating: number;
  kafka_producer_perf_per_s: number;
  kafka_consumer_perf_per_s: number;
  producer_vs_kafka: number;
  processor_vs_kafka: number;
  sink_vs_kafka: number;
  producer_cpu_s: number;
  processor_cpu_s: number;
  sink_cpu_s: number;
  movie_producer_cpu_s: number;
  producer_peak_rss_mb: number;
  processor_peak_rss_mb: number;
  sink_peak_rss_mb: number;
  snapshot_max_block_ms: number;
  sink_snapshot_max_block_ms: number;
  processor_snapshots: number;
  /** Where processor/sink rates came from: the meta topics, or /metrics samples when those were incomplete. */
  rate_source: string;
  correct: boolean;
}

export interface BenchResult {
  json: Record<string, unknown>;
  table: string;
  runs: RunFigures[];
  problems: string[];
  correct: boolean;
}

export const FIGURES: { key: keyof RunFigures; label: string }[] = [
  { key: 'e2e_seconds', label: 'end to end (s)' },
  { key: 'e2e_ratings_per_s', label: 'end to end (ratings/s)' },
  { key: 'producer_per_s', label: 'rating-producer (msgs/s)' },
  { key: 'processor_per_s', label: 'processor (ratings/s)' },
  { key: 'sink_per_s', label: 'sink (mean-rating msgs/s)' },
  { key: 'ratings_per_mean_rating', label: 'ratings per MeanRating msg' },
  { key: 'kafka_producer_perf_per_s', label: 'Kafka ProducerPerformance (msgs/s)' },
  { key: 'kafka_consumer_perf_per_s', label: 'Kafka ConsumerPerformance (msgs/s)' },
  { key: 'producer_vs_kafka', label: 'producer ÷ ProducerPerformance' },
  { key: 'processor_vs_kafka', label: 'processor ÷ ConsumerPerformance' },
  { key: 'sink_vs_kafka', label: 'sink ÷ ConsumerPerformance' },
  { key: 'producer_cpu_s', label: 'rating-producer CPU (s)' },
  { key: 'processor_cpu_s', label: 'processor CPU (s)' },
  { key: 'sink_cpu_s', label: 'sink CPU (s)' },
  { key: 'producer_peak_rss_mb', label: 'rating-producer peak RSS (MB)' },
  { key: 'processor_peak_rss_mb', label: 'processor peak RSS (MB)' },
  { key: 'sink_peak_rss_mb', label: 'sink peak RSS (MB)' },
  { key: 'snapshot_max_block_ms', label: 'processor snapshot max block (ms)' },
  { key: 'sink_snapshot_max_block_ms', label: 'sink snapshot max block (ms)' },
  { key: 'correct', label: 'correct' },
];

interface DataSet {
  ratingsFile: string;
  moviesFile: string;
  ratings: number;
  movies: number;
}

/** The generator's data set for these parameters, cached under <benchDir>/data/<key>/ (written to a temp dir, then renamed). */
export async function dataSet(benchDir: string, ratings: number, movies: number, seed: number): Promise<{ data: DataSet; dir: string; generated: boolean }> {
  const dir = join(benchDir, 'data', `r${ratings}-m${movies}-s${seed}`);
  const marker = join(dir, 'dataset.json');
  if (existsSync(marker)) return { data: JSON.parse(readFileSync(marker, 'utf8')) as DataSet, dir, generated: false };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await generateDataset({ ratings, movies, seed, outDir: tmp });
  const data: DataSet = { ratingsFile: join(dir, 'ratings.csv'), moviesFile: join(dir, 'movies.csv'), ratings: r.ratings, movies: r.movies };
  writeFileSync(join(tmp, 'dataset.json'), JSON.stringify(data));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { data, dir, generated: true };
}

async function movieIds(file: string): Promise<Set<number>> {
  const ids = new Set<number>();
  let header = true;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (header) header = false;
    else if (line) ids.add(Number(line.slice(0, line.indexOf(',')))); // ids are never quoted
  }
  return ids;
}

interface MetaWindow {
  action: 'published' | 'consumed';
  service: string;
  topic: string;
  count: number;
  firstStart: number;
  lastEnd: number;
}

/** Every report on the run's meta topics, summed per service and topic with the span of its windows. */
async function readMeta(kafka: Kafka, topics: string[], groupId: string): Promise<Map<string, MetaWindow>> {
  const admin = kafka.admin();
  await admin.connect();
  let expected = 0;
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) expected += Number(p.high) - Number(p.low);
  const out = new Map<string, MetaWindow>();
  const consumer = kafka.consumer({ groupId });
  try {
    if (expected > 0) {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      let seen = 0;
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`read ${seen} of ${expected} meta reports in 60 s`)), 60_000);
        consumer.run({
          eachMessage: async ({ message }) => {
            const r = fromBinary(MetaReportSchema, message.value ?? new Uint8Array());
            const action = r.action === MetaReport_Action.PUBLISHED ? 'published' : 'consumed';
            const k = `${action}|${r.service}|${r.topic}`;
            const w = out.get(k) ?? { action, service: r.service, topic: r.topic, count: 0, firstStart: Infinity, lastEnd: 0 };
            w.count += Number(r.count);
            w.firstStart = Math.min(w.firstStart, Number(r.windowStartMs));
            w.lastEnd = Math.max(w.lastEnd, Number(r.windowEndMs));
            out.set(k, w);
            if (++seen >= expected) {
              clearTimeout(timer);
              res();
            }
          },
        }).catch(rej);
      });
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return out;
}

/** Waits until both consumer groups are Stable with members, so group joins stay out of the timed part. */
async function waitForGroups(pr: PipelineRun, groups: string[], timeoutMs = 60_000): Promise<void> {
  const admin = pr.kafka.admin();
  await admin.connect();
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      for (const app of ['mean-rating-processor', 'movie-data-sink'] as const) {
        const s = pr.service(app);
        if (s && s.child.exitCode !== null) throw new Error(`${app} exited with ${s.child.exitCode} on start; see ${s.logFile}`);
      }
      const d = await admin.describeGroups(groups);
      if (d.groups.every((g) => g.state === 'Stable' && g.members.length > 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`consumer groups ${groups.join(', ')} not stable after ${timeoutMs / 1000} s`);
  } finally {
    await admin.disconnect();
  }
}

/** PipelineRun with per-service additions to NODE_OPTIONS (the usage hook; a CPU profile per app). */
class BenchPipelineRun extends PipelineRun {
  constructor(
    opts: PipelineOptions,
    private readonly nodeOptions: (app: AppName) => string,
    private readonly appEnv: (app: AppName) => Record<string, string>,
    readonly httpPorts: Partial<Record<AppName, number>>,
  ) {
    super(opts);
  }

  override serviceEnv(app: AppName): NodeJS.ProcessEnv {
    const env = super.serviceEnv(app);
    const port = this.httpPorts[app];
    return {
      ...env,
      ...(port ? { HTTP_PORT: String(port) } : {}),
      ...this.appEnv(app),
      NODE_OPTIONS: [env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '', this.nodeOptions(app)].join(' ').trim(),
    };
  }
}

function resultLine(stdout: string[]): { rows: number; snapshots: number; maxCopyMs: number; skippedReplays: number } {
  const line = stdout.find((l) => l.startsWith('{"result"'));
  if (!line) throw new Error('a consumer printed no result line');
  return JSON.parse(line).result;
}

interface Reference {
  means: Map<number, ReferenceMean>;
  movieIds: Set<number>;
}

async function runPipelineOnce(o: {
  data: DataSet; reference: Reference; variant: Variant; run: number; perf: KafkaPerf | undefined;
  brokers: string[]; benchDir: string; partitions: number; profileDir?: string; log: (l: string) => void;
}): Promise<{ figures: RunFigures; problems: string[] }> {
  const outDir = join(o.benchDir, 'out', o.variant.name);
  const usageDir = join(outDir, 'usage');
  rmSync(usageDir, { recursive: true, force: true });
  const runId = `bench-${Date.now().toString(36)}-${process.pid}`;
  const pr = new BenchPipelineRun(
    {
      ratingsFile: o.data.ratingsFile, moviesFile: o.data.moviesFile, outDir, brokers: o.brokers, runId,
      snapshotIntervalMs: 1000, // what npm start uses: commits (and so "drained") follow each snapshot
      log: o.log,
      env: {
        RATINGS_PARTITIONS: String(o.partitions),
        // Finer meta windows (default 1 s) so first-to-last-message spans are precise to 100 ms.
        META_WINDOW_MS: '100',
        BENCH_USAGE_DIR: usageDir,
        ...o.variant.env,
      },
    },
    () => `--require=${EXIT_USAGE_HOOK}`,
    (app): Record<string, string> => (o.profileDir ? { BENCH_CPU_PROF_DIR: join(resolve(o.profileDir), o.variant.name, app) } : {}),
    await freePorts(2).then(([a, b]) => ({ 'mean-rating-processor': a, 'movie-data-sink': b })),
  );
  pr.cleanOutput();
  mkdirSync(usageDir, { recursive: true });
  const pids = () => (['rating-producer', 'movie-producer', 'mean-rating-processor', 'movie-data-sink'] as const).flatMap((a) => {
    const s = pr.service(a);
    return s?.child.pid !== undefined && s.child.exitCode === null ? [s.child.pid] : [];
  });
  const sampler = new ProcSampler(pids, usageDir);
  const pollers = {
    processor: new CounterPoller(pr.httpPorts['mean-rating-processor']!, 'consumed', pr.topics.ratings),
    sink: new CounterPoller(pr.httpPorts['movie-data-sink']!, 'consumed', pr.topics.meanRatings),
  };
  try {
    await pr.createTopics(o.partitions);
    pr.start('mean-rating-processor');
    pr.start('movie-data-sink');
    await waitForGroups(pr, [pr.groups.processor, pr.groups.sink]);
    // e2e starts when the rating-producer is spawned (its startup included) and ends when both groups
    // have committed everything, i.e. every rating is in movie-data.csv.
    const t0 = performance.now();
    pr.start('movie-producer', ['--movies', o.data.moviesFile]);
    pr.start('rating-producer', ['--ratings', o.data.ratingsFile]);
    const [, ratings] = await Promise.all([pr.producerResult('movie-producer'), pr.producerResult('rating-producer')]);
    await pr.waitUntilDrained();
    const e2e = (performance.now() - t0) / 1000;
    sampler.sample();
    await new Promise((r) => setTimeout(r, 250)); // a last /metrics sample after the drain
    for (const p of Object.values(pollers)) p.stop();
    const codes = await Promise.all([pr.stop('mean-rating-processor'), pr.stop('movie-data-sink')]);
    if (codes.some((c) => c !== 0)) throw new Error(`a consumer did not stop cleanly (exit codes ${codes.join(', ')}); see ${pr.logDir}`);
    const proc = resultLine(pr.service('mean-rating-processor')!.stdout);
    const sinkResult = resultLine(pr.service('movie-data-sink')!.stdout);

    const meta = await readMeta(pr.kafka, [`${pr.topics.metaPrefix}.consumed`, `${pr.topics.metaPrefix}.published`], `${runId}.bench-meta`);
    // Rate = messages ÷ (end of the last window − start of the first) of the service's reports: 100 ms windows.
    const metaRate = (service: string, topic: string, action: 'published' | 'consumed' = 'consumed') => {
      const w = meta.get(`${action}|${service}|${topic}`);
      return w ? { count: w.count, perSec: w.count / ((w.lastEnd - w.firstStart) / 1000) } : { count: 0, perSec: NaN };
    };
    // The meta topics are the source when they hold every report (their totals equal the counters);
    // otherwise (reports lost or failing) the /metrics samples are.
    const pick = (m: { count: number; perSec: number }, p: CounterPoller) => {
      const c = p.rate();
      return m.count > 0 && m.count === c.count ? { ...m, source: 'meta' } : { ...c, source: 'metrics' };
    };
    const processor = pick(metaRate('mean-rating-processor', pr.topics.ratings), pollers.processor);
    const sink = pick(metaRate('movie-data-sink', pr.topics.meanRatings), pollers.sink);
    if (processor.source !== 'meta' || sink.source !== 'meta') o.log(`meta topics incomplete (see the services' logs): rates from /metrics samples`);

    const rows = await readSemicolonCsv(join(outDir, 'movie-data.csv'));
    const problems = compareMovieData(rows, o.reference.means, o.reference.movieIds);
    const counted = rows.reduce((s, r) => s + Number(r.rating_count), 0);
    if (counted !== o.data.ratings) problems.push(`movie-data.csv counts ${counted} ratings, expected ${o.data.ratings}`);
    if (processor.count !== o.data.ratings) problems.push(`processor ${processor.source} counts ${processor.count} ratings consumed, expected ${o.data.ratings}`);

    const u = (a: AppName) => sampler.usage(pr.service(a)?.child.pid);
    const kp = o.perf?.producerPerSec ?? NaN;
    const kc = o.perf?.consumerPerSec ?? NaN;
    const producerPerSec = ratings.published / ratings.seconds;
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
      kafka_producer_perf_per_s: round(kp),
      kafka_consumer_perf_per_s: round(kc),
      producer_vs_kafka: round(producerPerSec / kp),
      processor_vs_kafka: round(processor.perSec / kc),
      sink_vs_kafka: round(sink.perSec / kc),
      producer_cpu_s: round(u('rating-producer').cpuSeconds),
      processor_cpu_s: round(u('mean-rating-processor').cpuSeconds),
      sink_cpu_s: round(u('movie-data-sink').cpuSeconds),
      movie_producer_cpu_s: round(u('movie-producer').cpuSeconds),
      producer_peak_rss_mb: round(u('rating-producer').peakRssMb),
      processor_peak_rss_mb: round(u('mean-rating-processor').peakRssMb),
      sink_peak_rss_mb: round(u('movie-data-sink').peakRssMb),
      snapshot_max_block_ms: round(proc.maxCopyMs),
      sink_snapshot_max_block_ms: round(sinkResult.maxCopyMs),
      processor_snapshots: proc.snapshots,
      rate_source: processor.source === 'meta' && sink.source === 'meta' ? 'meta' : 'metrics',
      correct: problems.length === 0,
    };
    return { figures, problems };
  } finally {
    sampler.stop();
    for (const a of ['rating-producer', 'movie-producer', 'mean-rating-processor', 'movie-data-sink'] as const) {
      const s = pr.service(a);
      if (s && s.child.exitCode === null) s.child.kill('SIGKILL');
    }
    await pr.deleteTopics().catch((e) => o.log(`could not delete topics: ${(e as Error).message}`));
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const brokers = opts.brokers ?? (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const benchDir = resolve(opts.benchDir ?? join(REPO_ROOT, '.bench'));
  const seed = opts.seed ?? 42;
  const { data, dir, generated } = await dataSet(benchDir, opts.ratings, opts.movies, seed);
  log(`data: ${data.ratings} ratings over ${data.movies} movies in ${dir}${generated ? ' (generated)' : ' (cached)'}`);
  try {
    const ref = await computeReferenceMeans(data.ratingsFile);
    const reference: Reference = { means: ref.means, movieIds: await movieIds(data.moviesFile) };
    const variants: Variant[] = [{ name: 'baseline', env: {} }, ...(opts.variants ?? [])];
    const all: RunFigures[] = [];
    const problems: string[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      let perf: KafkaPerf | undefined;
      if (!opts.skipKafkaPerf) {
        // Sequential, never beside the pipeline: on 2 cores the two would measure each other.
        const probe = new PipelineRun({ ratingsFile: '', moviesFile: '', outDir: join(benchDir, 'out'), brokers });
        perf = await runKafkaPerf({ repoRoot: REPO_ROOT, kafka: probe.kafka, brokers, topic: `bench-perf-${Date.now().toString(36)}-${process.pid}`, partitions: opts.partitions, records: data.ratings });
        log(`run ${run}: ProducerPerformance ${perf.producerLine}`);
        log(`run ${run}: ConsumerPerformance ${perf.consumerLine}`);
      }
      for (const variant of variants) {
        log(`run ${run}/${opts.runs}, ${variant.name}: pipeline on ${data.ratings} ratings …`);
        const r = await runPipelineOnce({ data, reference, variant, run, perf, brokers, benchDir, partitions: opts.partitions, profileDir: opts.profileDir, log });
        all.push(r.figures);
        problems.push(...r.problems.map((p) => `${variant.name} run ${run}: ${p}`));
        log(`run ${run}, ${variant.name}: ${r.figures.e2e_seconds} s end to end, ${r.figures.e2e_ratings_per_s} ratings/s, correct ${r.figures.correct}`);
      }
    }
    const columns = variants.map((v) => ({ name: v.name, runs: all.filter((r) => r.variant === v.name) as unknown as Record<string, unknown>[] }));
    const baseline = medians(columns[0].runs);
    const json: Record<string, unknown> = {
      ...baseline,
      ratings: data.ratings,
      movies: data.movies,
      partitions: opts.partitions,
      rate_source: all.every((r) => r.rate_source === 'meta') ? 'meta' : 'metrics',
      correct: problems.length === 0,
      ...(variants.length > 1 ? { variants: Object.fromEntries(columns.map((c, i) => [c.name, { env: variants[i].env, ...medians(c.runs) }])) } : {}),
      ...(opts.runs > 1 || variants.length > 1 ? { runs: all } : {}),
    };
    delete json.run;
    return { json, table: table(FIGURES, columns), runs: all, problems, correct: problems.length === 0 };
  } finally {
    if (generated && !opts.keepData) rmSync(dir, { recursive: true, force: true });
  }
}
