// The compose stack as shipped (deploy/docker-compose.yml), for real: `stack.sh up` with its own project
// name and free host ports (three KRaft brokers from KAFKA_IMAGE, topic setup, processor, sink,
// monitor) with the PostgreSQL password stack.sh generates (POSTGRES_PASSWORD_SECRET, in a directory of its own),
// the published PostgreSQL port refusing a login without it, the sample data fed through the producers' containers, one broker stopped hard while the
// pipeline runs, movie-data.csv from the sink's volume compared with the independent reference, the
// stopped broker started again from its volume, then the sinks in the database mode (SINK_STORE=postgres) filling
// movie_data in the stack's PostgreSQL (POSTGRES_IMAGE: postgres:15, or the image make-postgres-image.sh builds
// here; they log in with the password from the mounted secret) checked against the same reference and served by GET /api/movies/<id>, and `down -v` leaving nothing
// of the project behind.
// Slow, needs podman/docker: `npm run test:containers`.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { consumerLag, kafkaClient, totalLag } from '@movie-stream/messaging';
import { connectDatabase, readMovieDataTable } from '@movie-stream/movie-db';
import { compareMovieData, computeReferenceMeans, freePorts, movieIdsOf, readSemicolonCsv, until } from '@movie-stream/test-support';
import { ROOT, Result, ctr, engineEnv, runAsync } from './engine';

jest.setTimeout(900_000);

const STACK = join(ROOT, 'tools', 'containers', 'stack.sh');
const sample = join(ROOT, 'data', 'sample');
const project = `msstack${Date.now().toString(36)}${process.pid}`;
const BROKERS = ['kafka-1', 'kafka-2', 'kafka-3'] as const;
// Two instances of each consumer (docs/SCALING.md): `<app>` and `<app>-2`.
const CONSUMERS = ['mean-rating-processor', 'mean-rating-processor-2', 'movie-data-sink', 'movie-data-sink-2'];
const LONG_RUNNING = [...BROKERS, 'postgres', ...CONSUMERS, 'monitor'];
const SINKS = ['movie-data-sink', 'movie-data-sink-2'];
// The database phase's sinks: a group of their own, so they read both topics again from the start.
const groups = {
  processor: 'movie-stream.mean-rating-processor',
  sink: 'movie-stream.movie-data-sink',
  dbSink: 'movie-stream.movie-data-sink-db',
};
const figures: string[] = [];
let env: NodeJS.ProcessEnv = engineEnv;
let externalBrokers: string[] = [];
let httpPorts: Record<'processor' | 'processor2' | 'sink' | 'sink2' | 'monitor', number>;
// Without a password: the services add it from the secret (DATABASE_PASSWORD_FILE); the test from the host file.
let databaseUrl = '';
let secretDir = '';
let secretFile = '';
/** databaseUrl with a password in it. */
const withPassword = (password: string) => {
  const u = new URL(databaseUrl);
  u.password = encodeURIComponent(password);
  return u.toString();
};
let down = false;
const started = performance.now();
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

function stack(args: string[], more: NodeJS.ProcessEnv = {}): Promise<Result> {
  return runAsync('bash', [STACK, ...args], { ...env, ...more });
}
function ok(r: Result, what: string): Result {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  return r;
}

/** The project's containers, networks and volumes, by compose's labels and by its name prefix. */
function leftovers(): string[] {
  const label = `label=com.docker.compose.project=${project}`;
  const names = (args: string[]) =>
    ctr(args)
      .stdout.split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  return [
    ...names(['ps', '-a', '--filter', label, '--format', '{{.Names}}']).map((n) => `container ${n}`),
    ...names(['volume', 'ls', '--format', '{{.Name}}'])
      .filter((n) => n.startsWith(`${project}_`))
      .map((n) => `volume ${n}`),
    ...names(['network', 'ls', '--format', '{{.Name}}'])
      .filter((n) => n.startsWith(`${project}_`))
      .map((n) => `network ${n}`),
  ];
}

/** The container of a compose service (compose v1 names it <project>_<service>_1, v2 <project>-<service>-1). */
function containerOf(service: string): string {
  const ids = ctr([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--format',
    '{{.ID}}',
  ])
    .stdout.trim()
    .split('\n')
    .filter(Boolean);
  if (ids.length !== 1) throw new Error(`expected one container of ${service}, found ${ids.length}`);
  return ids[0]!;
}
/** A polled condition: a request failing while a broker is down or leaders move counts as "not yet". */
const orFalse =
  (cond: () => Promise<boolean>): (() => Promise<boolean>) =>
  () =>
    cond().catch(() => false);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const state = (service: string, field: string) => ctr(['inspect', '-f', `{{${field}}}`, containerOf(service)]).stdout.trim();

beforeAll(async () => {
  const ports = await freePorts(9);
  externalBrokers = ports.slice(0, 3).map((p) => `127.0.0.1:${p}`);
  httpPorts = { processor: ports[3]!, sink: ports[4]!, monitor: ports[5]!, processor2: ports[6]!, sink2: ports[7]! };
  databaseUrl = `postgres://postgres@127.0.0.1:${ports[8]}/movie_stream`;
  // Not there yet: `stack.sh up` generates it (and its directory, 0700).
  secretDir = mkdtempSync(join(tmpdir(), 'stack-secret-'));
  secretFile = join(secretDir, 'secrets', 'postgres-password');
  env = {
    ...engineEnv,
    COMPOSE_PROJECT_NAME: project,
    KAFKA_EXTERNAL_HOST: '127.0.0.1',
    KAFKA_EXTERNAL_PORT_1: String(ports[0]),
    KAFKA_EXTERNAL_PORT_2: String(ports[1]),
    KAFKA_EXTERNAL_PORT_3: String(ports[2]),
    PROCESSOR_HTTP_PORT: String(httpPorts.processor),
    SINK_HTTP_PORT: String(httpPorts.sink),
    PROCESSOR_2_HTTP_PORT: String(httpPorts.processor2),
    SINK_2_HTTP_PORT: String(httpPorts.sink2),
    MONITOR_HTTP_PORT: String(httpPorts.monitor),
    POSTGRES_PORT: String(ports[8]),
    POSTGRES_PASSWORD_SECRET: secretFile,
    // Three brokers and the services on a 2-core CI machine.
    KAFKA_HEAP_OPTS: '-Xmx256m -Xms256m',
    SNAPSHOT_INTERVAL_MS: '1000',
    DATA_DIR: sample,
    // This checkout's code in the images (nx skips the bundles that did not change).
    STACK_BUILD: '1',
  };
  delete env.KAFKA_BROKERS; // the host's broker is not the stack's
});

afterAll(async () => {
  if (!down) await stack(['down', '-v']);
  rmSync(secretDir, { recursive: true, force: true });
  const sizes = ctr(['images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'])
    .stdout.split('\n')
    .filter((l) => /movie-stream/.test(l) && !/<none>/.test(l))
    .join('\n  ');
  process.stderr.write(`compose stack test (${project}): ${figures.join('; ')}; whole test ${seconds(started)} s\nimages:\n  ${sizes}\n`);
});

describe('the compose stack (deploy/docker-compose.yml)', () => {
  const services = ['kafka-1', 'kafka-2', 'kafka-3', 'topic-setup', 'postgres', ...CONSUMERS, 'monitor'];

  it('comes up healthy in dependency order, with the endpoints on 127.0.0.1 of the host only', async () => {
    const t = performance.now();
    const up = ok(await stack(['up', ...services]), 'stack.sh up');
    figures.push(`up (images + containers) ${seconds(t)} s: ${up.stderr.match(/up and healthy in .*/)?.[0] ?? '?'}`);
    for (const s of LONG_RUNNING) expect([s, state(s, '.State.Running'), state(s, '.State.Health.Status')]).toEqual([s, 'true', 'healthy']);
    // topic-setup ran after the brokers were healthy and finished before the services started.
    expect([state('topic-setup', '.State.ExitCode'), state('topic-setup', '.State.Running')]).toEqual(['0', 'false']);
    const setupDone = Date.parse(state('topic-setup', '.State.FinishedAt'));
    for (const s of [...CONSUMERS, 'monitor']) {
      expect([s, Date.parse(state(s, '.State.StartedAt')) >= setupDone]).toEqual([s, true]);
    }

    // Published ports: on the host's loopback only.
    for (const s of [...BROKERS, 'postgres', ...CONSUMERS, 'monitor']) {
      const bindings = JSON.parse(state(s, 'json .HostConfig.PortBindings')) as Record<string, { HostIp: string }[]>;
      const ips = Object.values(bindings).flatMap((b) => b.map((x) => x.HostIp));
      expect([s, ips.length > 0 && ips.every((ip) => ip === '127.0.0.1')]).toEqual([s, true]);
    }
    for (const port of Object.values(httpPorts)) {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect([port, r.status]).toEqual([port, 200]);
    }

    // The PostgreSQL password: generated by stack.sh into a directory only its owner can enter.
    expect(readFileSync(secretFile, 'utf8')).toMatch(/^[0-9a-f]{48}$/);
    expect((statSync(join(secretDir, 'secrets')).mode & 0o777).toString(8)).toBe('700');
    const password = readFileSync(secretFile, 'utf8');
    // The published port asks every client for it: without it, or with another, no login (it was `trust` before).
    await expect(connectDatabase(databaseUrl, quiet)).rejects.toThrow(/password/);
    await expect(connectDatabase(withPassword(`${password}x`), quiet)).rejects.toThrow(
      /password authentication failed for user "postgres"/,
    );
    // With it: the database POSTGRES_DB named; no rule but the container's own socket trusts anyone, the password is
    // stored as SCRAM; the server not run by root.
    const db = await connectDatabase(withPassword(password), quiet);
    try {
      const { rows } = await db.query<{ db: string; v: string }>('SELECT current_database() AS db, current_setting($1) AS v', [
        'server_version_num',
      ]);
      expect([rows[0]!.db, Math.floor(Number(rows[0]!.v) / 10000)]).toEqual(['movie_stream', 15]);
      const hba = await db.query<{ type: string; auth_method: string; error: string | null }>(
        'SELECT type, auth_method, error FROM pg_hba_file_rules',
      );
      const network = hba.rows.filter((r) => r.type !== 'local');
      expect(network.length).toBeGreaterThan(0);
      expect(hba.rows.filter((r) => r.error !== null)).toEqual([]);
      expect(network.filter((r) => r.auth_method !== 'scram-sha-256')).toEqual([]);
      const stored = await db.query<{ scram: boolean }>(
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 'postgres'",
      );
      expect(stored.rows).toEqual([{ scram: true }]);
    } finally {
      await db.end();
    }
    expect(ctr(['exec', containerOf('postgres'), 'id', '-u']).stdout.trim()).not.toBe('0');
    // The password reaches the containers as the mounted file only, never through their environment.
    for (const s of ['postgres', ...CONSUMERS]) {
      const envOf = (JSON.parse(state(s, 'json .Config.Env')) as string[]).join('\n');
      expect([s, envOf.includes(password)]).toEqual([s, false]);
      // Read by the container's own user (the services have node but no shell; PostgreSQL's images have bash).
      const read =
        s === 'postgres'
          ? ['bash', '-c', 'printf %s "$(</run/secrets/postgres-password)"']
          : ['node', '-e', "process.stdout.write(require('fs').readFileSync('/run/secrets/postgres-password', 'utf8'))"];
      expect([s, ctr(['exec', containerOf(s), ...read]).stdout]).toEqual([s, password]);
    }

    // The topics as create-topics.sh made them, seen through the external listeners.
    const kafka = kafkaClient(
      { brokers: externalBrokers },
      `${project}-check`,
      createLogger({ service: 'stack-test', level: 'error', format: 'json' }),
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['ratings', 'movies', 'mean-ratings'] });
      const layout = Object.fromEntries(meta.topics.map((tp) => [tp.name, [tp.partitions.length, tp.partitions[0]!.replicas.length]]));
      // Co-partitioned: one count for all three (docs/SCALING.md).
      expect(layout).toEqual({ ratings: [6, 3], movies: [6, 3], 'mean-ratings': [6, 3] });
    } finally {
      await admin.disconnect();
    }
  });

  it('runs the sample data through the producers containers exactly, also with a broker stopped mid-run', async () => {
    const t = performance.now();
    const kafka = kafkaClient(
      { brokers: externalBrokers },
      `${project}-test`,
      createLogger({ service: 'stack-test', level: 'error', format: 'json' }),
    );
    const admin = kafka.admin();
    await admin.connect();
    const out = mkdtempSync(join(tmpdir(), 'stack-out-'));
    try {
      const reference = await computeReferenceMeans(join(sample, 'ratings.csv'));
      const movieIds = await movieIdsOf(join(sample, 'movies.csv'));
      // The broker to stop: the leader of ratings partition 0 (a leader change on the pipeline's input).
      const meta = await admin.fetchTopicMetadata({ topics: ['ratings'] });
      const victim = `kafka-${meta.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader}`;

      const ratingsEnd = async () => (await admin.fetchTopicOffsets('ratings')).reduce((n, p) => n + Number(p.high), 0);
      // --no-deps: the brokers and topics are there; compose would start topic-setup again.
      const feeding = stack(['compose', 'up', '-d', '--no-deps', 'rating-producer', 'movie-producer']);
      let seen = 0;
      expect(
        await until(
          orFalse(async () => (seen = await ratingsEnd()) > 0),
          120_000,
          50,
        ),
      ).toBe(true);
      // stop -t 0: SIGKILL at once, a broker crash (and not restarted: compose marks it stopped).
      ok(await stack(['compose', 'stop', '-t', '0', victim]), `stop ${victim}`);
      figures.push(`${victim} stopped when ${seen} of ${reference.ratings} ratings were on the topic`);
      ok(await feeding, 'compose up producers');
      expect(state(victim, '.State.Running')).toBe('false');

      // Both producers finish (exit 0) with one broker down: acks=all needs 2 of 3 replicas.
      expect(
        await until(() => ['rating-producer', 'movie-producer'].every((p) => state(p, '.State.Running') === 'false'), 180_000, 500),
      ).toBe(true);
      for (const p of ['rating-producer', 'movie-producer']) expect([p, state(p, '.State.ExitCode')]).toEqual([p, '0']);
      const logs = ctr(['logs', containerOf('rating-producer')]);
      const summary = JSON.parse(logs.stdout.split('\n').find((l) => l.startsWith('{"summary"'))!).summary;
      expect(summary.published).toBe(reference.ratings);

      // Drained: every rating on the topic, both groups committed to the end (commits follow snapshots).
      const drained = await until(
        async () => {
          for (const s of CONSUMERS) expect([s, state(s, '.State.Running')]).toEqual([s, 'true']);
          return orFalse(
            async () =>
              (await ratingsEnd()) === reference.ratings &&
              totalLag(await consumerLag(admin, groups.processor, ['ratings'])) === 0 &&
              totalLag(await consumerLag(admin, groups.sink, ['movies', 'mean-ratings'])) === 0,
          )();
        },
        480_000,
        500,
      );
      if (!drained) {
        // Say where it stands: per-partition lag of both groups and the consumers' last log lines.
        const lags = [
          ...(await consumerLag(admin, groups.processor, ['ratings']).catch(() => [])),
          ...(await consumerLag(admin, groups.sink, ['movies', 'mean-ratings']).catch(() => [])),
        ].filter((l) => l.lag > 0);
        process.stderr.write(`not drained; lagging partitions: ${JSON.stringify(lags)}\n`);
        for (const c of CONSUMERS) {
          const l = ctr(['logs', '--tail', '40', containerOf(c)]);
          process.stderr.write(`--- ${c}\n${`${l.stdout}${l.stderr}`.split('\n').slice(-40).join('\n')}\n`);
        }
      }
      expect(drained).toBe(true);
      figures.push(`fed and drained in ${seconds(t)} s`);

      // movie-data.csv out of the sinks' shared volume (merged from both instances' states after each of their
      // snapshots: the last one follows the last commit), against the independent computation.
      let rows: Awaited<ReturnType<typeof readSemicolonCsv>> = [];
      const merged = await until(
        orFalse(async () => {
          if (ctr(['cp', `${containerOf('movie-data-sink')}:/data/out/movie-data.csv`, join(out, 'movie-data.csv')]).status !== 0)
            return false;
          rows = await readSemicolonCsv(join(out, 'movie-data.csv'));
          return compareMovieData(rows, reference.means, movieIds).length === 0;
        }),
        60_000,
        500,
      );
      expect(compareMovieData(rows, reference.means, movieIds)).toEqual([]);
      expect(merged).toBe(true);
      expect(rows).toHaveLength(new Set([...movieIds, ...reference.means.keys()]).size);

      // The stopped broker comes back from its volume (formatted once, not again) and catches up.
      const t2 = performance.now();
      ok(await stack(['compose', 'start', victim]), `start ${victim}`);
      ok(await stack(['health']), 'stack.sh health');
      const brokerLog = ctr(['logs', containerOf(victim)]);
      expect((`${brokerLog.stdout}${brokerLog.stderr}`.match(/^formatting /gm) ?? []).length).toBe(1);
      const inSync = await until(
        orFalse(async () =>
          (await admin.fetchTopicMetadata({ topics: ['ratings', 'movies', 'mean-ratings'] })).topics.every((tp) =>
            tp.partitions.every((p) => p.isr.length === 3),
          ),
        ),
        180_000,
        1000,
      );
      expect(inSync).toBe(true);
      figures.push(`${victim} back in sync in ${seconds(t2)} s`);
    } finally {
      await admin.disconnect();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("the sinks in the database mode fill movie_data in the stack's PostgreSQL exactly and serve it", async () => {
    const t = performance.now();
    const reference = await computeReferenceMeans(join(sample, 'ratings.csv'));
    const movieIds = await movieIdsOf(join(sample, 'movies.csv'));
    // Both sinks again, now SINK_STORE=postgres in a new group: compose recreates their containers (the
    // processors and the topics stay); they wait for PostgreSQL, migrate the schema and read both topics.
    const dbMode = { SINK_STORE: 'postgres', SINK_GROUP_ID: groups.dbSink };
    ok(await stack(['compose', 'up', '-d', '--no-deps', ...SINKS], dbMode), 'compose up sinks (postgres)');
    ok(await stack(['health']), 'stack.sh health');
    for (const s of SINKS) {
      expect([s, state(s, '.State.Health.Status')]).toEqual([s, 'healthy']);
      const envOf = JSON.parse(state(s, 'json .Config.Env')) as string[];
      expect([s, envOf.filter((e) => /^(SINK_STORE|GROUP_ID)=/.test(e)).sort()]).toEqual([
        s,
        [`GROUP_ID=${groups.dbSink}`, 'SINK_STORE=postgres'],
      ]);
    }

    const kafka = kafkaClient(
      { brokers: externalBrokers },
      `${project}-db`,
      createLogger({ service: 'stack-test', level: 'error', format: 'json' }),
    );
    const admin = kafka.admin();
    await admin.connect();
    const db = await connectDatabase(withPassword(readFileSync(secretFile, 'utf8')), quiet);
    try {
      // The table (rows and the offsets stored with them in the same transactions) against the reference.
      const ends = async () => {
        const out = new Map<string, number>();
        for (const topic of ['movies', 'mean-ratings']) {
          for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, Number(p.high));
        }
        return out;
      };
      const stored = async () => {
        const { rows } = await db.query<{ topic: string; partition: number; next_offset: string }>(
          'SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1',
          [groups.dbSink],
        );
        return new Map(rows.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)]));
      };
      const tableRows = async () =>
        (await readMovieDataTable(db)).map((r) => ({
          movieId: String(r.movieId),
          title: r.title,
          genres: r.genres,
          mean_rating: r.mean === undefined ? '' : String(r.mean),
          rating_count: String(r.count),
        }));
      let problems: string[] = ['not read yet'];
      const filled = await until(
        orFalse(async () => {
          problems = compareMovieData(await tableRows(), reference.means, movieIds);
          if (problems.length) return false;
          // Every partition that has records is stored up to its end (an empty one may have no row).
          const [want, have] = [await ends(), await stored()];
          return [...want].every(([k, end]) => (have.get(k) ?? 0) === end);
        }),
        240_000,
        1000,
      );
      expect(problems).toEqual([]);
      expect(filled).toBe(true);
      const rows = await tableRows();
      expect(rows).toHaveLength(new Set([...movieIds, ...reference.means.keys()]).size);
      figures.push(`sinks in postgres mode: movie_data filled (${rows.length} rows) in ${seconds(t)} s`);

      // The live API of a sink reads the table: the movie with the most ratings, as the reference has it.
      const best = [...reference.means.values()].sort((a, b) => b.count - a.count || a.movieId - b.movieId)[0]!;
      for (const port of [httpPorts.sink, httpPorts.sink2]) {
        const r = await fetch(`http://127.0.0.1:${port}/api/movies/${best.movieId}`);
        expect([port, r.status]).toEqual([port, 200]);
        const movie = (await r.json()) as { movieId: number; count: number; mean: number };
        expect([movie.movieId, movie.count]).toEqual([best.movieId, best.count]);
        expect(Math.abs(movie.mean - best.mean)).toBeLessThanOrEqual(1e-9 * best.mean);
      }
      // The stack's one API address: the monitor's port forwards to the sinks in turn (twice: once to each).
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`http://127.0.0.1:${httpPorts.monitor}/api/movies/${best.movieId}`);
        expect(['monitor', r.status, r.headers.get('content-type')]).toEqual(['monitor', 200, 'application/json']);
        const movie = (await r.json()) as { movieId: number; count: number; mean: number };
        expect([movie.movieId, movie.count]).toEqual([best.movieId, best.count]);
        expect(Math.abs(movie.mean - best.mean)).toBeLessThanOrEqual(1e-9 * best.mean);
      }
    } finally {
      await db.end();
      await admin.disconnect();
    }
  });

  it('down -v leaves no container, network or volume of the project', async () => {
    expect(leftovers().length).toBeGreaterThan(0); // the check sees the stack while it is there
    const t = performance.now();
    ok(await stack(['down', '-v']), 'stack.sh down -v');
    down = true;
    figures.push(`down -v ${seconds(t)} s`);
    expect(leftovers()).toEqual([]);
  });
});
