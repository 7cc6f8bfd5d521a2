// How a table-keeping service stops, tested on a real broker with a real process (fixtures/count-service.ts,
// which runs runService + runStatefulConsumer as the real consumers do): a graceful stop writes a final
// snapshot, then commits exactly its offsets, and exits 0; a snapshot that cannot be saved is never
// committed; a stop that cannot finish because the broker is gone ends at STOP_TIMEOUT_MS with exit 1,
// naming what it waited for, having committed nothing beyond its saved state.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import {
  createKafka,
  ensureTopics,
  pipelineTopics,
  readTopicRange,
  retryForever,
  TopicNames,
  topicNames,
  sleep,
} from '@movie-stream/messaging';
import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { StorableFrame } from '@movie-stream/storable-frame';
import { COUNT_COLUMNS, countFromRecord, KeyCount } from './fixtures/counts';

// Real processes and, for one test, a broker of its own: minutes on a busy machine.
jest.setTimeout(600_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const SHARED_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SERVICE = join(__dirname, 'fixtures', 'count-service.ts');
const logger = createLogger({ service: 'service-runtime-test', instanceId: 'test', level: 'error', format: 'json' });
const PARTITIONS = 3;
const MESSAGES = 3000;
const KEYS = 17;
// Generous limits: they only end a wait for a condition that never comes.
const LIMIT_MS = 120_000;

/** What the service should count: message i has key k<i % KEYS>. */
function expectedCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < MESSAGES; i++) m.set(`k${i % KEYS}`, (m.get(`k${i % KEYS}`) ?? 0) + 1);
  return m;
}

/** One test's topics, consumer group and output directory, on `brokers`. */
class Setup {
  readonly prefix = `svc-stop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  readonly names: TopicNames = topicNames({
    topicRatings: `${this.prefix}.ratings`,
    topicMovies: `${this.prefix}.movies`,
    topicMeanRatings: `${this.prefix}.mean-ratings`,
    topicMetaPrefix: `${this.prefix}.meta`,
  });
  readonly group = `${this.prefix}.count-service`;
  readonly outDir = mkdtempSync(join(tmpdir(), 'service-stop-'));
  stateDir = join(this.outDir, '.state', 'count-service');

  constructor(readonly brokers: string[]) {}

  private kafka() {
    return createKafka({ brokers: this.brokers, clientId: `test-${this.prefix}` }, logger);
  }

  /** Creates the topics and publishes MESSAGES messages, keys k0 … k<KEYS-1> in turn, each exactly once. */
  async publish(): Promise<void> {
    const kafka = this.kafka();
    const admin = kafka.admin();
    // Idempotent: a send retried on a just-started broker must not put a batch on the topic twice.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.connect();
      await ensureTopics(admin, pipelineTopics(this.names, PARTITIONS), 0, logger);
      await producer.connect();
      for (let i = 0; i < MESSAGES; i += 500) {
        const messages = Array.from({ length: 500 }, (_, j) => ({ key: `k${(i + j) % KEYS}`, value: String(i + j) }));
        await producer.send({ topic: this.names.ratings, messages, acks: -1 });
      }
      const onTopic = (await admin.fetchTopicOffsets(this.names.ratings)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      if (onTopic !== MESSAGES) throw new Error(`${this.names.ratings} holds ${onTopic} messages, not ${MESSAGES}`);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }

  /** The group's committed offsets per partition of the input topic (absent = none committed). */
  async committed(): Promise<Record<string, string>> {
    const admin = this.kafka().admin();
    try {
      await admin.connect();
      // Right after a broker (re)started its group coordinator may still be loading (NOT_COORDINATOR, CI saw it).
      const [t] = await retryForever(
        `reading ${this.group}'s offsets`,
        () => admin.fetchOffsets({ groupId: this.group, topics: [this.names.ratings] }),
        createLogger({ service: 'test', level: 'error', format: 'json' }),
        AbortSignal.timeout(60_000),
      );
      return Object.fromEntries(t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => [String(p.partition), p.offset]));
    } finally {
      await admin.disconnect();
    }
  }

  async deleteTopics(): Promise<void> {
    const admin = this.kafka().admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${this.prefix}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine });
      await admin.deleteGroups([this.group]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }

  /** Every report on the meta topic of consumed messages (where restores are reported too), decoded. */
  async consumedReports(): Promise<ReturnType<typeof fromBinary<typeof MetaReportSchema>>[]> {
    const out: ReturnType<typeof fromBinary<typeof MetaReportSchema>>[] = [];
    await readTopicRange(this.kafka(), {
      topics: [this.names.metaConsumed],
      groupId: `${this.prefix}.reader`,
      what: this.names.metaConsumed,
      onMessage: (m) => void (m.value && out.push(fromBinary(MetaReportSchema, m.value))),
    });
    return out;
  }

  /** The service's saved state, read as a restart would: counts per key and the offsets it continues at. */
  async saved(): Promise<{ counts: Map<string, number>; offsets: Record<string, string> }> {
    const frame = new StorableFrame<string, KeyCount>({
      name: 'counts',
      stateDir: this.stateDir,
      columns: COUNT_COLUMNS,
      fromRecord: countFromRecord,
    });
    try {
      if (!(await frame.load())) return { counts: new Map(), offsets: {} };
      const counts = await frame.read((rows) => new Map([...rows.values()].map((r) => [r.key, r.count])));
      return { counts, offsets: frame.offsets()[this.names.ratings] ?? {} };
    } finally {
      await frame.close();
    }
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      KAFKA_BROKERS: this.brokers.join(','),
      TOPIC_RATINGS: this.names.ratings,
      TOPIC_MOVIES: this.names.movies,
      TOPIC_MEAN_RATINGS: this.names.meanRatings,
      TOPIC_META_PREFIX: `${this.prefix}.meta`,
      RATINGS_PARTITIONS: String(PARTITIONS),
      GROUP_ID: this.group,
      OUT_DIR: this.outDir,
      HTTP_PORT: '0',
      LOG_FORMAT: 'text',
      LOG_LEVEL: 'debug',
      ...extra,
    };
  }
}

/** The test service as a child process. */
class Service {
  readonly child: ChildProcess;
  log = '';
  /** The last count read by consumed(), for the failure message of a wait. */
  lastConsumed = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--require', 'tsx/cjs', SERVICE], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.log += d.toString('utf8')));
    this.child.stderr?.on('data', (d: Buffer) => (this.log += d.toString('utf8')));
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
  }

  async waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + LIMIT_MS;
    while (!(await condition())) {
      if (this.child.exitCode !== null) throw new Error(`service exited (${this.child.exitCode}) while waiting for ${what}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${LIMIT_MS / 1000} s (consumed: ${this.lastConsumed}):\n${this.log}`);
      await sleep(200);
    }
  }

  /** The service's /metrics text ('' before it serves them). */
  async metrics(): Promise<string> {
    const port = /metrics and health on http:\/\/[^:]+:(\d+)\/metrics/.exec(this.log)?.[1];
    if (!port) return '';
    return fetch(`http://127.0.0.1:${port}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
  }

  /** Messages of `topic` the service has consumed, from its /metrics. */
  async consumed(topic: string): Promise<number> {
    const port = /metrics and health on http:\/\/[^:]+:(\d+)\/metrics/.exec(this.log)?.[1];
    if (!port) return 0;
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const line = text
      .split('\n')
      .find((l) => l.startsWith('movie_stream_messages_total{') && l.includes('action="consumed"') && l.includes(`topic="${topic}"`));
    this.lastConsumed = line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    return this.lastConsumed;
  }

  /** SIGTERM, then the exit; SIGKILL (and `killed`) if it has not exited within `limitMs`. */
  async terminate(limitMs: number): Promise<{ code: number | null; killed: boolean; ms: number }> {
    const sent = Date.now();
    this.child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, limitMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return { code, killed, ms: Date.now() - sent };
  }
}

const services: Service[] = [];
const start = (env: NodeJS.ProcessEnv) => {
  const s = new Service(env);
  services.push(s);
  return s;
};
afterAll(() => {
  for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

/** Every committed offset is at or behind the saved state's: nothing committed that the state lacks. */
function expectCommittedWithinSaved(committed: Record<string, string>, saved: Record<string, string>): void {
  for (const [partition, offset] of Object.entries(committed)) {
    expect({ partition, behindSaved: BigInt(offset) <= BigInt(saved[partition] ?? '-1') }).toEqual({ partition, behindSaved: true });
  }
}

it('a service whose main fails exits 1, also when nothing else keeps the process alive', async () => {
  // No HTTP endpoint and no Kafka connection yet: nothing keeps the event loop alive after the failure.
  const service = start({ ...new Setup(SHARED_BROKERS).env({ HTTP_PORT: '-1' }), COUNT_SERVICE_FAIL: 'the table is unusable' });
  const { code } = await service.exited;
  expect(code).toBe(1);
  expect(service.log).toMatch(/count-service failed: the table is unusable/);
});

describe('graceful stop with the broker up', () => {
  const setup = new Setup(SHARED_BROKERS);
  afterAll(() => setup.deleteTopics());

  it('writes a final snapshot, commits exactly its offsets, exits 0', async () => {
    await setup.publish();
    // No periodic snapshot during the test: what is saved and committed comes from the stop alone.
    const service = start(setup.env({ SNAPSHOT_INTERVAL_MS: '3600000' }));
    await service.waitFor('every message consumed', async () => (await service.consumed(setup.names.ratings)) === MESSAGES);
    // Consumed but not yet snapshotted: nothing may be committed.
    expect(await setup.committed()).toEqual({});
    const { code, killed } = await service.terminate(LIMIT_MS);
    expect({ code, killed }).toEqual({ code: 0, killed: false });
    expect(service.log).toMatch(new RegExp(`final snapshot 1: ${KEYS} rows`));
    const saved = await setup.saved();
    expect(saved.counts).toEqual(expectedCounts());
    const total = Object.values(saved.offsets).reduce((s, o) => s + Number(o), 0);
    expect(total).toBe(MESSAGES);
    expect(await setup.committed()).toEqual(saved.offsets);
  });
});

describe('partition restores', () => {
  const setup = new Setup(SHARED_BROKERS);
  afterAll(() => setup.deleteTopics());

  it('are reported on the meta topic (start and end, counting no messages) and in /metrics, per partition', async () => {
    await setup.publish();
    const service = start(setup.env());
    await service.waitFor('every message consumed', async () => (await service.consumed(setup.names.ratings)) === MESSAGES);
    // No state yet: each of the 3 partitions is read from its start (a replay), so 3 restores of source replay.
    const metrics = await service.metrics();
    expect(metrics).toMatch(new RegExp(`movie_stream_partition_restores_total\\{[^}]*source="replay"[^}]*\\} ${PARTITIONS}\n`));
    expect(metrics).toMatch(new RegExp(`movie_stream_partition_restore_seconds_count\\{[^}]*source="replay"[^}]*\\} ${PARTITIONS}\n`));
    const { code } = await service.terminate(LIMIT_MS);
    expect(code).toBe(0);
    const reports = await setup.consumedReports();
    const restores = reports
      .filter((r) => r.action === MetaReport_Action.RESTORE_STARTED || r.action === MetaReport_Action.RESTORE_FINISHED)
      .map((r) => [r.restore?.partition, r.action === MetaReport_Action.RESTORE_STARTED ? 'started' : 'finished', r.restore?.source]);
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
    expect(
      restores
        .filter((r) => r[1] === 'started')
        .map((r) => r[0])
        .sort(),
    ).toEqual(partitions);
    const ended = restores.filter((r) => r[1] === 'finished').map((r) => [r[0], r[2]]);
    expect(ended.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(partitions.map((p) => [p, 'replay']));
    // Each partition's start before its end.
    for (const p of partitions)
      expect(restores.findIndex((r) => r[0] === p)).toBe(restores.findIndex((r) => r[0] === p && r[1] === 'started'));
    for (const r of reports.filter((x) => x.restore))
      expect([r.service, r.topic, r.restore?.groupId, r.count]).toEqual(['count-service', setup.names.ratings, setup.group, 0n]);
    // The consumed totals are exactly the messages: the restore reports add nothing.
    expect(reports.reduce((sum, r) => sum + Number(r.count), 0)).toBe(MESSAGES);
  });
});

describe('a snapshot that cannot be saved', () => {
  const setup = new Setup(SHARED_BROKERS);
  afterAll(() => setup.deleteTopics());

  it('is never committed, periodic or final, and the stop exits 1', async () => {
    await setup.publish();
    // A state directory below a regular file: every snapshot write fails (even for root).
    writeFileSync(join(setup.outDir, 'not-a-directory'), '');
    setup.stateDir = join(setup.outDir, 'not-a-directory', 'state');
    const service = start(setup.env({ SNAPSHOT_INTERVAL_MS: '200', STATE_DIR: setup.stateDir }));
    await service.waitFor('every message consumed', async () => (await service.consumed(setup.names.ratings)) === MESSAGES);
    const failures = () => service.log.split('snapshot of counts failed').length - 1;
    const before = failures();
    await service.waitFor('a failed periodic snapshot after the last message', () => failures() > before);
    expect(await setup.committed()).toEqual({});
    const { code, killed } = await service.terminate(LIMIT_MS);
    expect({ code, killed }).toEqual({ code: 1, killed: false });
    expect(service.log).toMatch(/count-service failed: .*not a directory/i);
    expect(await setup.committed()).toEqual({});
  });
});

describe('stop while the broker is unreachable', () => {
  it('a SIGTERM while waiting for the broker at start exits 0 without waiting for the connect in progress', async () => {
    // A port where nothing listens.
    const server = createServer();
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
    await new Promise((r) => server.close(r));
    const setup = new Setup([`127.0.0.1:${port}`]);
    // A deadline well below KafkaJS's own connect retries (tens of seconds): exit 0 means the stop did
    // not wait for the connect in progress; a stop that did would be cut by the deadline (exit 1).
    const service = start(setup.env({ STOP_TIMEOUT_MS: '5000' }));
    await service.waitFor('the service to start', () => /starting count-service/.test(service.log));
    const { code, killed } = await service.terminate(LIMIT_MS);
    expect({ code, killed }).toEqual({ code: 0, killed: false });
    expect(service.log).toMatch(/interrupted before it finished: SIGTERM received/);
    expect(service.log).not.toMatch(/stop deadline/);
  });

  describe('a broker of its own, killed while the service runs', () => {
    // tools/kafka/kafka.sh runs an independent cluster for KAFKA_INSTANCE; killing it disturbs nobody.
    const instance = { KAFKA_BROKERS: '', KAFKA_INSTANCE: 'service-runtime-stop', KAFKA_PORT_BASE: '38900' };
    const kafkaSh = (...args: string[]) => {
      const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), ...args], {
        env: { ...process.env, ...instance },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    };
    const setup = new Setup(['127.0.0.1:38901']);
    beforeAll(() => kafkaSh('reset'));
    afterAll(() => kafkaSh('reset'));

    it('ends at STOP_TIMEOUT_MS with exit 1, names what it waited for, and has committed nothing beyond its saved state', async () => {
      kafkaSh('start');
      await setup.publish();
      const stopTimeoutMs = 3000;
      const service = start(setup.env({ SNAPSHOT_INTERVAL_MS: '300', STOP_TIMEOUT_MS: String(stopTimeoutMs) }));
      await service.waitFor('every message consumed', async () => (await service.consumed(setup.names.ratings)) === MESSAGES);
      await service.waitFor('a periodic snapshot committed', async () => Object.keys(await setup.committed()).length > 0);
      kafkaSh('stop', '--broker', '1', '--kill');
      // Past the deadline the stop must end by itself; a generous margin for a busy machine.
      const { code, killed, ms } = await service.terminate(stopTimeoutMs + 60_000);
      expect({ code, killed }).toEqual({ code: 1, killed: false });
      const line = /stop deadline of 3 s passed: exiting without finishing the stop; still waiting for: \S.*/.exec(service.log)?.[0];
      expect(line).toBeDefined();
      process.stderr.write(`exit ${code} ${(ms / 1000).toFixed(1)} s after SIGTERM: ${line}\n`);
      // The saved state holds every message (snapshotted before the broker went away) …
      const saved = await setup.saved();
      expect(saved.counts).toEqual(expectedCounts());
      // … and, with the broker back, no committed offset is past it.
      kafkaSh('start');
      expectCommittedWithinSaved(await setup.committed(), saved.offsets);
    });
  });
});
