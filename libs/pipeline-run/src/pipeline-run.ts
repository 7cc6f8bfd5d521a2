import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createPipelineTopics,
  deleteTopicsAndGroups,
  groupLag,
  kafkaClient,
  KafkaClient,
  KafkaSecurity,
  newRunId,
  waitForStableGroups,
} from '@movie-stream/messaging';
import { AppName, CONSUMER_APPS, ConsumerApp, ProducerApp } from './apps';
import { configEnv, runLayout, RunLayout } from './layout';
import { ServiceProcess, startService } from './services';
import { PipelineSummary, ProducerSummary, readMovieData } from './summary';

/** Hooks into PipelineRun.run() between its steps. */
export interface RunSteps {
  /** Wait until the consumers have joined their groups before the producers start. */
  waitForConsumerGroups?: boolean;
  /** Just before the producers are started. */
  beforeProducers?: () => void | Promise<void>;
  /** Once both consumer groups have drained, before the consumers are stopped. */
  afterDrained?: () => void | Promise<void>;
}

export interface PipelineOptions {
  ratingsFile: string;
  moviesFile: string;
  outDir: string;
  brokers: string[];
  /** Prefix of this run's topics and consumer groups; a fresh one makes every run start clean. */
  runId?: string;
  snapshotIntervalMs?: number;
  /** Partitions of the ratings topic (default 6). */
  ratingsPartitions?: number;
  /** Keep the run's topics afterwards (default: delete them). */
  keepTopics?: boolean;
  /** Give up when the consumers make no progress for this long. */
  stallTimeoutMs?: number;
  /** Extra environment for every service (e.g. KAFKA_SASL_*). */
  env?: NodeJS.ProcessEnv;
  /** Environment for one service, over `env` (e.g. a profiler for one app, fixed HTTP ports). */
  appEnv?: (app: AppName) => NodeJS.ProcessEnv;
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
  readonly layout: RunLayout;
  readonly topics: { ratings: string; movies: string; meanRatings: string; metaPrefix: string };
  readonly groups: { processor: string; sink: string };
  readonly kafka: KafkaClient;
  private readonly services = new Map<AppName, ServiceProcess>();
  private readonly log: (line: string) => void;
  /** Set by stopAll(): run() must not SIGKILL services that are writing their final snapshots. */
  private stopping?: Promise<void>;
  private readonly stops = new WeakMap<ServiceProcess, Promise<number | null>>();

  constructor(private readonly opts: PipelineOptions) {
    this.runId = opts.runId ?? newRunId();
    this.outDir = resolve(opts.outDir);
    this.logDir = join(this.outDir, 'logs');
    this.layout = runLayout(this.runId);
    this.topics = this.layout.topics;
    this.groups = this.layout.groups;
    this.log = opts.log ?? ((l) => process.stderr.write(l + '\n'));
    this.kafka = kafkaClient({ ...opts.security, brokers: opts.brokers }, `pipeline-${this.runId}`, { warn: (m) => this.log(m) });
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
      ...configEnv({
        brokers: this.opts.brokers,
        ...this.layout.topicSettings,
        outDir: this.outDir,
        // Producers get none: a GROUP_ID of the runner's own environment must not reach them either.
        groupId: (this.layout.consumers as Partial<Record<AppName, { group: string }>>)[app]?.group,
        snapshotIntervalMs: this.opts.snapshotIntervalMs ?? 1000,
        instanceId: `${app}-${this.runId}`,
        httpPort: 0, // several runs may share a host: any free port
        ...(this.opts.ratingsPartitions !== undefined ? { ratingsPartitions: this.opts.ratingsPartitions } : {}),
      }),
      ...this.opts.env,
      ...this.opts.appEnv?.(app),
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
  async producerResult(app: ProducerApp): Promise<ProducerSummary> {
    const s = this.services.get(app);
    if (!s) throw new Error(`${app} was not started`);
    const { code, signal } = await s.exited;
    if (code !== 0) throw new Error(`${app} exited with ${code ?? signal}; see ${s.logFile}`);
    const line = s.stdout.find((l) => l.startsWith('{"summary"'));
    if (!line) throw new Error(`${app} printed no summary; see ${s.logFile}`);
    return JSON.parse(line).summary as ProducerSummary;
  }

  /** Lag of a consumer group over its topics (0 = committed up to the end offsets). */
  lag(group: string, topics: string[]): Promise<number> {
    return groupLag(this.kafka, group, topics);
  }

  /** Throws when a consumer has exited (a run cannot drain without it). */
  private checkConsumers(when: string): void {
    for (const app of CONSUMER_APPS) {
      const s = this.services.get(app);
      if (s && s.child.exitCode !== null) throw new Error(`${app} exited with ${s.child.exitCode} ${when}; see ${s.logFile}`);
    }
  }

  /** Waits until both consumer groups are Stable with members (so group joins stay out of what is timed next). */
  waitForConsumerGroups(timeoutMs = 60_000): Promise<void> {
    return waitForStableGroups(
      this.kafka,
      CONSUMER_APPS.map((a) => this.layout.consumers[a].group),
      { timeoutMs, check: () => this.checkConsumers('on start') },
    );
  }

  /**
   * Waits until the processor has committed every rating and then the sink every movie and mean rating.
   * Fails when neither lag moves for `stallTimeoutMs` (or a consumer died).
   */
  async waitUntilDrained(): Promise<void> {
    const stallMs = this.opts.stallTimeoutMs ?? 120_000;
    const waitFor = async (what: ConsumerApp) => {
      const { group, topics } = this.layout.consumers[what];
      let last = Number.NaN;
      let lastChange = Date.now();
      for (;;) {
        this.checkConsumers('while draining');
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
    // In this order: the sink's mean-ratings topic is complete only once the processor has drained.
    for (const app of CONSUMER_APPS) await waitFor(app);
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
    await deleteTopicsAndGroups(
      this.kafka,
      `${this.runId}.`,
      CONSUMER_APPS.map((a) => this.layout.consumers[a].group),
    );
  }

  /** The setup step: creates the run's topics (idempotent) before any service starts. */
  async createTopics(ratingsPartitions = this.opts.ratingsPartitions ?? 6): Promise<void> {
    await createPipelineTopics(this.kafka, this.layout.names, ratingsPartitions);
  }

  /** Starts the consumers (the topics must exist). */
  startConsumers(): void {
    for (const app of CONSUMER_APPS) this.start(app);
  }

  /** Starts the producers on the run's files. */
  startProducers(): void {
    this.start('movie-producer', ['--movies', this.opts.moviesFile]);
    this.start('rating-producer', ['--ratings', this.opts.ratingsFile]);
  }

  /** Starts the four services on the run's files (the consumers first; the topics must exist). */
  startServices(): void {
    this.startConsumers();
    this.startProducers();
  }

  /** Graceful stop of the consumers (final snapshots); fails unless both exit 0. */
  async stopConsumers(): Promise<void> {
    const codes = await Promise.all(CONSUMER_APPS.map((a) => this.stop(a)));
    if (codes.some((c) => c !== 0)) throw new Error(`a consumer did not stop cleanly (exit codes ${codes.join(', ')}); see ${this.logDir}`);
  }

  /**
   * The whole run, start to summary. `steps` lets a measuring caller in between the steps (the bench
   * waits for the groups, times from the producers' start to the drain, samples before the stop).
   */
  async run(steps: RunSteps = {}): Promise<PipelineSummary> {
    const started = performance.now();
    this.cleanOutput();
    try {
      await this.createTopics();
      this.startConsumers();
      if (steps.waitForConsumerGroups) await this.waitForConsumerGroups();
      await steps.beforeProducers?.();
      this.startProducers();
      const [movies, ratings] = await Promise.all([this.producerResult('movie-producer'), this.producerResult('rating-producer')]);
      this.log(`published ${ratings.published} ratings and ${movies.published} movies; waiting for the consumers to catch up`);
      await this.waitUntilDrained();
      await steps.afterDrained?.();
      await this.stopConsumers();
      const elapsedSeconds = (performance.now() - started) / 1000;
      return { ratings, movies, movieData: readMovieData(join(this.outDir, 'movie-data.csv')), elapsedSeconds, outDir: this.outDir };
    } finally {
      if (this.stopping) await this.stopping;
      for (const s of this.services.values()) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      if (!this.opts.keepTopics) await this.deleteTopics().catch((e) => this.log(`could not delete topics: ${(e as Error).message}`));
    }
  }
}
