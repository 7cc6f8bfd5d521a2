import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import { consumerLag, ensureTopics, kafkaClient, KafkaSecurity, newRunId, pipelineTopics, runMetaPrefix, topicNames, totalLag } from '@movie-stream/messaging';
import { AppName, ServiceProcess, startService } from './services';
import { PipelineSummary, ProducerSummary, readMovieData } from './summary';

export interface PipelineOptions {
  ratingsFile: string;
  moviesFile: string;
  outDir: string;
  brokers: string[];
  /** Prefix of this run's topics and consumer groups; a fresh one makes every run start clean. */
  runId?: string;
  snapshotIntervalMs?: number;
  /** Keep the run's topics afterwards (default: delete them). */
  keepTopics?: boolean;
  /** Give up when the consumers make no progress for this long. */
  stallTimeoutMs?: number;
  /** Extra environment for every service (e.g. KAFKA_SASL_*). */
  env?: NodeJS.ProcessEnv;
  /** TLS and SASL of the run's own client (topics, lag); the services take theirs from `env`. */
  security?: KafkaSecurity;
  log?: (line: string) => void;
}

/**
 * One run of the whole pipeline on fresh topics: start the consumers, publish both files, wait until
 * every rating is reflected in movie-data.csv (both consumer groups committed up to the end offsets,
 * which happens only after a snapshot holding those offsets is on disk), stop the consumers gracefully.
 */
export class PipelineRun {
  readonly runId: string;
  readonly outDir: string;
  readonly logDir: string;
  readonly topics: { ratings: string; movies: string; meanRatings: string; metaPrefix: string };
  readonly groups: { processor: string; sink: string };
  readonly kafka: Kafka;
  private readonly services = new Map<AppName, ServiceProcess>();
  private readonly log: (line: string) => void;
  /** Set by stopAll(): run() must not SIGKILL services that are writing their final snapshots. */
  private stopping?: Promise<void>;
  private readonly stops = new WeakMap<ServiceProcess, Promise<number | null>>();

  constructor(private readonly opts: PipelineOptions) {
    this.runId = opts.runId ?? newRunId();
    this.outDir = resolve(opts.outDir);
    this.logDir = join(this.outDir, 'logs');
    const p = this.runId;
    this.topics = { ratings: `${p}.ratings`, movies: `${p}.movies`, meanRatings: `${p}.mean-ratings`, metaPrefix: runMetaPrefix(p) };
    this.groups = { processor: `${p}.mean-rating-processor`, sink: `${p}.movie-data-sink` };
    this.log = opts.log ?? ((l) => process.stderr.write(l + '\n'));
    this.kafka = kafkaClient({ ...opts.security, brokers: opts.brokers }, `pipeline-${p}`, { warn: (m) => this.log(m) });
  }

  /** Removes the previous run's outputs and snapshots from the output directory. */
  cleanOutput(): void {
    if (!existsSync(this.outDir)) {
      mkdirSync(this.outDir, { recursive: true });
      return;
    }
    for (const entry of readdirSync(this.outDir)) {
      if (['.state', 'logs', 'mean-ratings.csv', 'movie-data.csv'].includes(entry) || entry.startsWith('rejected-')) {
        rmSync(join(this.outDir, entry), { recursive: true, force: true });
      }
    }
  }

  serviceEnv(app: AppName): NodeJS.ProcessEnv {
    return {
      KAFKA_BROKERS: this.opts.brokers.join(','),
      TOPIC_RATINGS: this.topics.ratings,
      TOPIC_MOVIES: this.topics.movies,
      TOPIC_MEAN_RATINGS: this.topics.meanRatings,
      TOPIC_META_PREFIX: this.topics.metaPrefix,
      OUT_DIR: this.outDir,
      GROUP_ID: app === 'mean-rating-processor' ? this.groups.processor : app === 'movie-data-sink' ? this.groups.sink : undefined,
      SNAPSHOT_INTERVAL_MS: String(this.opts.snapshotIntervalMs ?? 1000),
      INSTANCE_ID: `${app}-${this.runId}`,
      HTTP_PORT: '0', // several runs may share a host: any free port
      ...this.opts.env,
    };
  }

  start(app: AppName, args: string[] = []): ServiceProcess {
    const s = startService(app, this.serviceEnv(app), args, this.logDir);
    this.services.set(app, s);
    return s;
  }

  service(app: AppName): ServiceProcess | undefined {
    return this.services.get(app);
  }

  /** Waits for a producer to finish and returns its summary line. */
  async producerResult(app: 'rating-producer' | 'movie-producer'): Promise<ProducerSummary> {
    const s = this.services.get(app);
    if (!s) throw new Error(`${app} was not started`);
    const { code, signal } = await s.exited;
    if (code !== 0) throw new Error(`${app} exited with ${code ?? signal}; see ${s.logFile}`);
    const line = s.stdout.find((l) => l.startsWith('{"summary"'));
    if (!line) throw new Error(`${app} printed no summary; see ${s.logFile}`);
    return JSON.parse(line).summary as ProducerSummary;
  }

  /** Lag of a consumer group over its topics (0 = committed up to the end offsets). */
  async lag(group: string, topics: string[]): Promise<number> {
    const admin = this.kafka.admin();
    try {
      // Inside the try: a connect that fails half-way must still be disconnected (no socket left behind).
      await admin.connect();
      return totalLag(await consumerLag(admin, group, topics));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Waits until the processor has committed every rating and then the sink every movie and mean rating.
   * Fails when neither lag moves for `stallTimeoutMs` (or a consumer died).
   */
  async waitUntilDrained(): Promise<void> {
    const stallMs = this.opts.stallTimeoutMs ?? 120_000;
    const waitFor = async (what: string, group: string, topics: string[]) => {
      let last = Number.NaN;
      let lastChange = Date.now();
      for (;;) {
        for (const app of ['mean-rating-processor', 'movie-data-sink'] as const) {
          const s = this.services.get(app);
          if (s && s.child.exitCode !== null) throw new Error(`${app} exited with ${s.child.exitCode} while draining; see ${s.logFile}`);
        }
        // A failed lag query (a leader moving, a broker restarting in the fault tests) is not progress and
        // not a reason to give up: it counts toward the stall time like an unchanged lag.
        let error: Error | undefined;
        const lag = await this.lag(group, topics).catch((e: Error) => void (error = e));
        if (lag === 0) return;
        if (lag !== undefined && lag !== last) {
          last = lag;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > stallMs) {
          const why = error ? `the last lag query failed: ${error.message}` : `lag stuck at ${lag}`;
          throw new Error(`${what}: ${why} for ${stallMs / 1000} s; see ${this.logDir}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await waitFor('mean-rating-processor', this.groups.processor, [this.topics.ratings]);
    await waitFor('movie-data-sink', this.groups.sink, [this.topics.movies, this.topics.meanRatings]);
  }

  /**
   * SIGTERM to a service and wait for its graceful exit (final snapshot, commit). Once per service: a
   * second SIGTERM would make it exit at once, without its final snapshot (Ctrl-C during a run used to
   * reach the consumers twice, from stopAll and from run() going on to stop them).
   */
  stop(app: AppName, timeoutMs = 15_000): Promise<number | null> {
    const s = this.services.get(app);
    if (!s || s.child.exitCode !== null) return Promise.resolve(s?.child.exitCode ?? null);
    let stopping = this.stops.get(s);
    if (!stopping) {
      s.child.kill('SIGTERM');
      const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
      stopping = s.exited.then(({ code }) => {
        clearTimeout(timer);
        return code;
      });
      this.stops.set(s, stopping);
    }
    return stopping;
  }

  /** Graceful stop of every service (SIGTERM, SIGKILL after the timeout); run() then ends too. */
  async stopAll(): Promise<void> {
    this.stopping = Promise.all([...this.services.keys()].map((a) => this.stop(a))).then(() => undefined);
    await this.stopping;
  }

  async deleteTopics(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${this.runId}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine });
      await admin.deleteGroups([this.groups.processor, this.groups.sink]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }

  /** The setup step: creates the run's topics (idempotent) before any service starts. */
  async createTopics(ratingsPartitions = 6): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const names = topicNames({
        topicRatings: this.topics.ratings, topicMovies: this.topics.movies,
        topicMeanRatings: this.topics.meanRatings, topicMetaPrefix: this.topics.metaPrefix,
      });
      const quiet = { info() {}, warn() {}, error() {} } as never;
      await ensureTopics(admin, pipelineTopics(names, ratingsPartitions), 0, quiet);
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts the four services on the run's files (the consumers first; the topics must exist). */
  startServices(): void {
    this.start('mean-rating-processor');
    this.start('movie-data-sink');
    this.start('movie-producer', ['--movies', this.opts.moviesFile]);
    this.start('rating-producer', ['--ratings', this.opts.ratingsFile]);
  }

  /** The whole run, start to summary. */
  async run(): Promise<PipelineSummary> {
    const started = performance.now();
    this.cleanOutput();
    try {
      await this.createTopics();
      this.startServices();
      const [movies, ratings] = await Promise.all([this.producerResult('movie-producer'), this.producerResult('rating-producer')]);
      this.log(`published ${ratings.published} ratings and ${movies.published} movies; waiting for the consumers to catch up`);
      await this.waitUntilDrained();
      const codes = await Promise.all([this.stop('mean-rating-processor'), this.stop('movie-data-sink')]);
      if (codes.some((c) => c !== 0)) throw new Error(`a consumer did not stop cleanly (exit codes ${codes.join(', ')}); see ${this.logDir}`);
      const elapsedSeconds = (performance.now() - started) / 1000;
      return { ratings, movies, movieData: readMovieData(join(this.outDir, 'movie-data.csv')), elapsedSeconds, outDir: this.outDir };
    } finally {
      if (this.stopping) await this.stopping;
      for (const s of this.services.values()) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      if (!this.opts.keepTopics) await this.deleteTopics().catch((e) => this.log(`could not delete topics: ${(e as Error).message}`));
    }
  }
}
