import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  withAdmin,
} from '@movie-stream/messaging';
import { connectDatabase, describeDatabase, emptyTables, readMovieDataTable } from '@movie-stream/movie-db';
import { MOVIE_DATA_COLUMNS, MovieDataRow } from '@movie-stream/movie-data';
import { FrameTable, serializeTable } from '@movie-stream/storable-frame';
import { AppName, CONSUMER_APPS, ConsumerApp, ProducerApp } from './apps';
import { configEnv, INSTANCES_DIR, instanceLayout, runLayout, RunLayout } from './layout';
import { MergedOutput, mergeRunOutputs } from './merge-outputs';
import { ServiceProcess, startService } from './services';
import { PipelineSummary, ProducerSummary, readMovieData } from './summary';

/** Hooks into PipelineRun.run() between its steps. */
export interface RunSteps {
  /** Wait until the consumers have joined their groups before the producers start. */
  waitForConsumerGroups?: boolean;
  /** Just before the producers are started. */
  beforeProducers?: () => void | Promise<void>;
  /** Once both producers have published everything, before waiting for the consumers to catch up. */
  afterProducers?: () => void | Promise<void>;
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
  /** Environment for one service instance, over `env` (e.g. a profiler for one app, fixed HTTP ports). */
  appEnv?: (app: AppName, instance: number) => NodeJS.ProcessEnv;
  /**
   * A command to run instance i of `app` through (startService's commandPrefix; it must exec the service), e.g.
   * the bench's move into a CPU cgroup of the instance's own. None: the service is started directly.
   */
  commandPrefix?: (app: AppName, instance: number) => string[];
  /** Instances of mean-rating-processor run() starts (default 1). */
  processors?: number;
  /** Instances of movie-data-sink run() starts (default 1). */
  sinks?: number;
  /**
   * Each consumer instance gets an output directory of its own (`<out>/instances/<app>-<i>`) and the run's
   * outputs are merged from their states. Implied by processors or sinks above 1.
   */
  scaled?: boolean;
  /**
   * Database modes: the sink writes movie_data (sink) and/or the processor keeps its sums and counts
   * (processor) in PostgreSQL at `url` (the database must exist). run() then writes `<out>/movie-data.csv`
   * from movie_data, so a run's output is the same file in every mode.
   */
  database?: { url: string; sink?: boolean; processor?: boolean };
  /**
   * Consumer instances are static members of their groups (GROUP_INSTANCE_ID `<app>-<index>`, the same across
   * restarts of an instance): a restart gets its partitions back without a rebalance.
   */
  staticMembership?: boolean;
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
  /** Whether consumer instances have directories of their own and the outputs are merged (see PipelineOptions.scaled). */
  readonly scaled: boolean;
  /** Consumer instances run() starts, per consumer app. */
  readonly instanceCounts: Record<ConsumerApp, number>;
  /** Per app, its instances by index (the latest process started as that instance). */
  private readonly services = new Map<AppName, Map<number, ServiceProcess>>();
  /** Processes signalled on purpose (kill, scale down): their exit is not "a consumer died". */
  private readonly deliberate = new WeakSet<ServiceProcess>();
  private readonly paused = new WeakSet<ServiceProcess>();
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
    this.instanceCounts = { 'mean-rating-processor': opts.processors ?? 1, 'movie-data-sink': opts.sinks ?? 1 };
    for (const [app, n] of Object.entries(this.instanceCounts)) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`PipelineRun: instances of ${app} must be an integer ≥ 1, got ${n}`);
    }
    this.scaled = opts.scaled === true || Object.values(this.instanceCounts).some((n) => n > 1);
  }

  /** Removes the previous run's outputs and snapshots from the output directory. */
  cleanOutput(): void {
    if (!existsSync(this.outDir)) {
      mkdirSync(this.outDir, { recursive: true });
      return;
    }
    for (const entry of readdirSync(this.outDir)) {
      if (['.state', 'logs', INSTANCES_DIR, 'mean-ratings.csv', 'movie-data.csv'].includes(entry) || entry.startsWith('rejected-')) {
        rmSync(join(this.outDir, entry), { recursive: true, force: true });
      }
    }
  }

  /** Where instance `i` of `app` writes: its output directory, INSTANCE_ID and log name. */
  instanceLayout(app: AppName, instance = 0) {
    return instanceLayout({ outDir: this.outDir, runId: this.runId, app, instance, scaled: this.scaled });
  }

  serviceEnv(app: AppName, instance = 0): NodeJS.ProcessEnv {
    const il = this.instanceLayout(app, instance);
    return {
      ...configEnv({
        brokers: this.opts.brokers,
        ...this.layout.topicSettings,
        outDir: il.outDir,
        // Producers get none: a GROUP_ID of the runner's own environment must not reach them either.
        groupId: (this.layout.consumers as Partial<Record<AppName, { group: string }>>)[app]?.group,
        ...(this.opts.staticMembership && (CONSUMER_APPS as readonly AppName[]).includes(app)
          ? { groupInstanceId: `${app}-${instance}` }
          : {}),
        snapshotIntervalMs: this.opts.snapshotIntervalMs ?? 1000,
        instanceId: il.instanceId,
        httpPort: 0, // several runs may share a host: any free port
        ...(this.opts.ratingsPartitions !== undefined ? { ratingsPartitions: this.opts.ratingsPartitions } : {}),
        ...this.databaseSettings(app),
      }),
      ...this.opts.env,
      ...this.opts.appEnv?.(app, instance),
    };
  }

  private databaseSettings(app: AppName): Record<string, string> {
    const db = this.opts.database;
    if (app === 'movie-data-sink' && db?.sink) return { sinkStore: 'postgres', databaseUrl: db.url };
    if (app === 'mean-rating-processor' && db?.processor) return { processorState: 'postgres', databaseUrl: db.url };
    return {};
  }

  /** The consumers that keep their state in files (merged in a scaled run). */
  private fileConsumers(): ConsumerApp[] {
    const db = this.opts.database;
    return CONSUMER_APPS.filter((a) => !(a === 'movie-data-sink' ? db?.sink : db?.processor));
  }

  /** In the sink's database mode: writes `<out>/movie-data.csv` from movie_data (the run's output in every mode). */
  async exportMovieData(): Promise<string | undefined> {
    if (!this.opts.database?.sink) return undefined;
    const pool = await connectDatabase(this.opts.database.url, { info: this.log, warn: this.log, error: this.log });
    try {
      const table = new FrameTable<number, MovieDataRow>(MOVIE_DATA_COLUMNS);
      for (const r of await readMovieDataTable(pool)) table.set(r.movieId, r);
      const file = join(this.outDir, 'movie-data.csv');
      writeFileSync(file, serializeTable(table.copyColumns()));
      return file;
    } finally {
      await pool.end();
    }
  }

  /** Starts instance `instance` of `app` (0 unless the run is scaled); it replaces an earlier process of that instance. */
  start(app: AppName, args: string[] = [], instance = 0): ServiceProcess {
    const il = this.instanceLayout(app, instance);
    const prefix = this.opts.commandPrefix?.(app, instance) ?? [];
    const s = startService(app, this.serviceEnv(app, instance), args, this.logDir, il.logName, prefix);
    let byIndex = this.services.get(app);
    if (!byIndex) this.services.set(app, (byIndex = new Map()));
    byIndex.set(instance, s);
    return s;
  }

  /** Starts instance i of a consumer (fault tests: a restart, or one more instance). */
  startInstance(app: ConsumerApp, instance: number): ServiceProcess {
    return this.start(app, [], instance);
  }

  service(app: AppName, instance = 0): ServiceProcess | undefined {
    return this.services.get(app)?.get(instance);
  }

  /** The instances of `app` still running, by index. */
  instances(app: AppName): { instance: number; process: ServiceProcess }[] {
    return [...(this.services.get(app) ?? new Map<number, ServiceProcess>())]
      .filter(([, s]) => running(s))
      .sort(([a], [b]) => a - b)
      .map(([instance, process]) => ({ instance, process }));
  }

  private all(apps: readonly AppName[] = [...this.services.keys()]): ServiceProcess[] {
    return apps.flatMap((a) => [...(this.services.get(a)?.values() ?? [])]);
  }

  private instance(app: AppName, instance: number): ServiceProcess {
    const s = this.service(app, instance);
    if (!s) throw new Error(`${app} instance ${instance} was not started`);
    return s;
  }

  /** Sends `signal` to instance i on purpose (fault tests): its exit does not count as a consumer dying. */
  kill(
    app: AppName,
    instance: number,
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const s = this.instance(app, instance);
    this.deliberate.add(s);
    if (running(s)) s.child.kill(signal);
    return s.exited;
  }

  /** Freezes instance i (SIGSTOP): it holds its partitions without working, as a hung process would. */
  pause(app: AppName, instance: number): void {
    const s = this.instance(app, instance);
    this.paused.add(s);
    s.child.kill('SIGSTOP');
  }

  /** Lets a paused instance go on (SIGCONT). */
  resume(app: AppName, instance: number): void {
    const s = this.instance(app, instance);
    this.paused.delete(s);
    s.child.kill('SIGCONT');
  }

  /**
   * Runs instances 0..n-1 of a consumer: starts those not running, stops (gracefully) running ones from n
   * up. Resolves with the exit codes of the stopped ones.
   */
  async scale(app: ConsumerApp, n: number): Promise<(number | null)[]> {
    if (!Number.isInteger(n) || n < 0) throw new Error(`scale ${app}: ${n} is not a number of instances`);
    if (n > 1 && !this.scaled) throw new Error(`scale ${app} to ${n}: the run is not scaled (set scaled, processors or sinks)`);
    for (let i = 0; i < n; i++) {
      const s = this.service(app, i);
      if (!s || !running(s)) this.startInstance(app, i);
    }
    const excess = this.instances(app).filter(({ instance }) => instance >= n);
    return Promise.all(excess.map(({ instance }) => this.stop(app, 15_000, instance)));
  }

  /**
   * A rolling restart's step: graceful stop of instance i (SIGTERM, its final snapshot and commit), then the
   * same instance started again (same index, environment and directory). Resolves with the old process's exit
   * code and the new process once it is started (not yet in its group: the caller waits for that).
   */
  async restart(app: ConsumerApp, instance: number, timeoutMs = 15_000): Promise<{ exitCode: number | null; process: ServiceProcess }> {
    this.instance(app, instance);
    const exitCode = await this.stop(app, timeoutMs, instance);
    return { exitCode, process: this.startInstance(app, instance) };
  }

  /** Waits for a producer to finish and returns its summary line. */
  async producerResult(app: ProducerApp): Promise<ProducerSummary> {
    const s = this.service(app);
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

  /** Throws when a consumer instance has exited unexpectedly (not killed or stopped on purpose): a run cannot drain without it. */
  checkConsumers(when: string): void {
    for (const app of CONSUMER_APPS) {
      for (const [i, s] of this.services.get(app) ?? []) {
        if (running(s) || this.deliberate.has(s) || this.stops.has(s)) continue;
        const name = this.scaled ? `${app} instance ${i}` : app;
        throw new Error(`${name} exited with ${s.child.exitCode ?? s.child.signalCode} ${when}; see ${s.logFile}`);
      }
    }
  }

  /** Waits until both consumer groups are Stable with members (so group joins stay out of what is timed next). */
  waitForConsumerGroups(timeoutMs = 60_000): Promise<void> {
    return waitForStableGroups(
      this.kafka,
      CONSUMER_APPS.map((a) => this.layout.consumers[a].group),
      {
        timeoutMs,
        check: () => this.checkConsumers('on start'),
        // Every instance started so far is in its group (else one joining later moves partitions mid-run).
        members: Object.fromEntries(CONSUMER_APPS.map((a) => [this.layout.consumers[a].group, this.instances(a).length])),
      },
    );
  }

  /**
   * Waits until the processor has committed every rating and then the sink every movie and mean rating.
   * Fails when neither lag moves for `stallTimeoutMs` (or a consumer died).
   */
  /** The app's group is Stable with every running instance as a member. */
  private async settled(app: ConsumerApp): Promise<boolean> {
    const running = this.instances(app).filter((i) => i.process.child.exitCode === null && i.process.child.signalCode === null).length;
    const group = this.layout.consumers[app].group;
    const d = await withAdmin(this.kafka, (admin) => admin.describeGroups([group])).catch(() => undefined);
    const g = d?.groups.find((x) => x.groupId === group);
    return g?.state === 'Stable' && g.members.length === running;
  }

  async waitUntilDrained(): Promise<void> {
    const stallMs = this.opts.stallTimeoutMs ?? 120_000;
    const waitFor = async (what: ConsumerApp) => {
      const { group, topics } = this.layout.consumers[what];
      let last = Number.NaN;
      let lastChange = Date.now();
      let zeroes = 0;
      for (;;) {
        this.checkConsumers('while draining');
        // A failed lag query (a leader moving, a broker restarting in the fault tests) is not progress and
        // not a reason to give up: it counts toward the stall time like an unchanged lag.
        let error: Error | undefined;
        const lag = await this.lag(group, topics).catch((e: Error) => void (error = e));
        // Scaled: partitions may just have moved to an instance that rebuilds them (it commits where it
        // stands right after the join); so lag 0 counts only with the group settled, twice in a row.
        if (lag === 0 && (!this.scaled || (await this.settled(what)))) {
          if (!this.scaled || ++zeroes >= 2) return;
        } else zeroes = 0;
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
  stop(app: AppName, timeoutMs = 15_000, instance = 0): Promise<number | null> {
    const s = this.service(app, instance);
    if (!s) return Promise.resolve(null);
    return this.stopProcess(s, timeoutMs);
  }

  private stopProcess(s: ServiceProcess, timeoutMs = 15_000): Promise<number | null> {
    let stopping = this.stops.get(s);
    if (!stopping && !running(s)) return Promise.resolve(s.child.exitCode);
    if (!stopping) {
      s.child.kill('SIGTERM');
      // A paused process takes the SIGTERM only once it runs again.
      if (this.paused.has(s)) {
        this.paused.delete(s);
        s.child.kill('SIGCONT');
      }
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
    this.stopping = Promise.all(this.all().map((s) => this.stopProcess(s))).then(() => undefined);
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

  /** Starts the consumers, every instance (the topics must exist). */
  startConsumers(): void {
    for (const app of CONSUMER_APPS) for (let i = 0; i < this.instanceCounts[app]; i++) this.startInstance(app, i);
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

  /**
   * Graceful stop of every consumer instance (final snapshots); fails unless all exit 0. Instances killed on
   * purpose (kill()) are not asked for an exit code.
   */
  async stopConsumers(): Promise<void> {
    const consumers = CONSUMER_APPS.flatMap((app) => [...(this.services.get(app) ?? [])].map(([i, s]) => ({ app, i, s })));
    const stopped = await Promise.all(
      consumers.filter(({ s }) => !this.deliberate.has(s)).map(async (c) => ({ ...c, code: await this.stopProcess(c.s) })),
    );
    const unclean = stopped.filter(({ code }) => code !== 0);
    if (unclean.length) {
      const what = unclean.map(
        ({ app, i, s, code }) => `${this.scaled ? `${app} instance ${i}` : app} exited with ${code ?? s.child.signalCode}`,
      );
      // The why goes into the failure itself: a CI run keeps only what the test printed, not the log files.
      const why = unclean.map(({ s }) => `${s.logFile}, its last warnings and errors:\n${warningsOf(s.logFile)}`);
      throw new Error(`a consumer did not stop cleanly (${what.join(', ')}); see ${this.logDir}\n${why.join('\n')}`);
    }
  }

  /**
   * A scaled run's outputs: `<out>/mean-ratings.csv` and `<out>/movie-data.csv` merged from the instances'
   * states (each partition from the instance furthest in it). Meant for stopped instances; a running one is
   * read at its latest snapshot.
   */
  mergeOutputs(): MergedOutput[] {
    const apps = this.fileConsumers();
    if (apps.length === 0) return [];
    const merged = mergeRunOutputs(this.outDir, (app) => this.layout.consumers[app].topics, apps);
    for (const m of merged) for (const w of m.warnings) this.log(`merging ${m.app}: ${w}`);
    return merged;
  }

  /**
   * The whole run, start to summary. `steps` lets a measuring caller in between the steps (the bench
   * waits for the groups, times from the producers' start to the drain, samples before the stop).
   */
  async run(steps: RunSteps = {}): Promise<PipelineSummary> {
    const started = performance.now();
    this.cleanOutput();
    // The database's rows are the previous run's output, as the files cleanOutput removed.
    if (this.opts.database) await emptyTables(this.opts.database.url);
    try {
      await this.createTopics();
      this.startConsumers();
      if (steps.waitForConsumerGroups || this.scaled) await this.waitForConsumerGroups();
      await steps.beforeProducers?.();
      this.startProducers();
      const [movies, ratings] = await Promise.all([this.producerResult('movie-producer'), this.producerResult('rating-producer')]);
      this.log(`published ${ratings.published} ratings and ${movies.published} movies; waiting for the consumers to catch up`);
      await steps.afterProducers?.();
      await this.waitUntilDrained();
      await steps.afterDrained?.();
      await this.stopConsumers();
      if (this.scaled) this.mergeOutputs();
      await this.exportMovieData();
      const elapsedSeconds = (performance.now() - started) / 1000;
      const movieData = readMovieData(join(this.outDir, 'movie-data.csv'));
      const instances = { processors: this.instanceCounts['mean-rating-processor'], sinks: this.instanceCounts['movie-data-sink'] };
      const db = this.opts.database;
      const database = db && { where: describeDatabase(db.url), sink: db.sink === true, processor: db.processor === true };
      return {
        ratings,
        movies,
        movieData,
        elapsedSeconds,
        outDir: this.outDir,
        ...(this.scaled ? { instances } : {}),
        ...(database ? { database } : {}),
      };
    } finally {
      if (this.stopping) await this.stopping;
      for (const s of this.all()) if (running(s)) s.child.kill('SIGKILL');
      if (!this.opts.keepTopics) await this.deleteTopics().catch((e) => this.log(`could not delete topics: ${(e as Error).message}`));
    }
  }
}

/** Not exited (a paused process is running). */
function running(s: ServiceProcess): boolean {
  return s.child.exitCode === null && s.child.signalCode === null;
}

/**
 * The last `n` lines of a service's log that are warnings, errors, or not the logger's at all (what Node
 * prints when a process crashes), each cut to 600 characters.
 */
function warningsOf(logFile: string, n = 25): string {
  if (!existsSync(logFile)) return '  (no log)';
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !/^\d\d:\d\d:\d\d\.\d+ (info|debug)\b|^\{.*"level":"(info|debug)"/.test(l));
  return lines.length
    ? lines
        .slice(-n)
        .map((l) => `  ${l.slice(0, 600)}`)
        .join('\n')
    : '  (none)';
}
