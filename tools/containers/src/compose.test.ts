// Structure of deploy/docker-compose.yml and deploy/.env.example, checked without a compose tool
// (none here can validate it: Debian's podman-compose 1.0.3 has no `config`). Part of `npm test`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { MOVIE_API_OPTIONS, OPTIONS, OptionName } from '@movie-stream/config';
import { COMMON_OPTIONS, CSV_PRODUCER_OPTIONS, DATABASE_CONSUMER_OPTIONS } from '@movie-stream/service-runtime';
import { APPS, CONSUMER_APPS } from '@movie-stream/pipeline-run';

const deploy = join(__dirname, '..', '..', '..', 'deploy');
const composeText = readFileSync(join(deploy, 'docker-compose.yml'), 'utf8');
const doc = parseDocument(composeText, { merge: true });
const compose = doc.toJS({ maxAliasCount: 1000 }) as {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  services: Record<string, any>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
};
const services = compose.services;

// Consumer services: two instances of each app (`<app>` and `<app>-2`).
const CONSUMERS = CONSUMER_APPS.flatMap((a) => [a, `${a}-2`]);
const BROKERS = ['kafka-1', 'kafka-2', 'kafka-3'];
// The monitor's own options (apps/monitor/src/main.ts passes this list to runService).
const MONITOR_OPTIONS: readonly OptionName[] = [
  'dashboardHost',
  'dashboardPort',
  'lagPollMs',
  'monitorScope',
  'monitorHistoryMinutes',
  'groupId',
  'dashboardMaxClients',
  'dashboardClientBufferBytes',
  'monitorApiUpstreams',
  'monitorApiTimeoutMs',
  'monitorApiMaxRequests',
];
const SERVICES = [...APPS, ...CONSUMER_APPS.map((a) => `${a}-2`), 'monitor'];

/** Options an app reads: the common ones plus the lists service-runtime defines for its kind. */
function appOptions(service: string): OptionName[] {
  const app = service.replace(/-\d+$/, ''); // a second instance reads what the first does
  const own: readonly OptionName[] =
    app === 'monitor'
      ? MONITOR_OPTIONS
      : app === 'rating-producer'
        ? ['ratingsFile', ...CSV_PRODUCER_OPTIONS]
        : app === 'movie-producer'
          ? ['moviesFile', ...CSV_PRODUCER_OPTIONS]
          : app === 'movie-data-sink'
            ? [...DATABASE_CONSUMER_OPTIONS, 'sinkStore', ...MOVIE_API_OPTIONS]
            : [...DATABASE_CONSUMER_OPTIONS, 'processorState', 'coalesceMaxMs', 'coalesceMaxRatings'];
  return [...COMMON_OPTIONS, ...own];
}
const stackEnvs = new Map(APPS.flatMap((a) => appOptions(a)).map((n) => [OPTIONS[n].env, OPTIONS[n] as { env: string; default?: string }]));

/** KEY=value lines of .env.example (comments and blank lines skipped). */
const envExample = new Map(
  readFileSync(join(deploy, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
);

/** Every ${VAR}, ${VAR:-default} in the compose file (comments excluded), with its default. */
const referenced = new Map<string, string | undefined>();
for (const line of composeText.split('\n').filter((l) => !l.trimStart().startsWith('#'))) {
  for (const m of line.matchAll(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g)) referenced.set(m[1]!, m[2]);
}

const envOf = (svc: string): Record<string, string> => services[svc].environment ?? {};

describe('deploy/docker-compose.yml', () => {
  it('parses as YAML without errors or warnings', () => {
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });

  it('has the brokers, topic setup, Kafdrop, PostgreSQL, the four services (two instances of each consumer) and the monitor, each with an image', () => {
    expect(Object.keys(services).sort()).toEqual([...BROKERS, 'kafdrop', 'topic-setup', 'postgres', ...SERVICES].sort());
    for (const [name, s] of Object.entries(services)) expect([name, typeof s.image]).toEqual([name, 'string']);
    for (const app of SERVICES) expect(services[app].image).toMatch(new RegExp(`^movie-stream/${app.replace(/-2$/, '')}:`));
    // KAFKA_IMAGE: apache/kafka by default, the image built from the project's jars where it cannot be pulled.
    for (const b of [...BROKERS, 'topic-setup']) expect(services[b].image).toMatch(/^\$\{KAFKA_IMAGE:-apache\/kafka:4\.1\.\d+\}$/);
    expect(services.kafdrop.image).toMatch(/obsidiandynamics\/kafdrop/);
    // Kafdrop cannot be built locally: only with `--profile kafdrop`.
    expect(services.kafdrop.profiles).toEqual(['kafdrop']);
    for (const [name, s] of Object.entries(services)) if (name !== 'kafdrop') expect([name, s.profiles]).toEqual([name, undefined]);
  });

  it('publishes every port on the host address of a PUBLISH_HOST variable, 127.0.0.1 by default', () => {
    const published: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []) as string[]) {
        expect([name, p]).toEqual([
          name,
          expect.stringMatching(/^\$\{(KAFKA|HTTP|POSTGRES)_PUBLISH_HOST:-127\.0\.0\.1\}:\$\{[A-Z0-9_]+:-\d+\}:\d+$/),
        ]);
        published.push(p.match(/\}:\$\{([A-Z0-9_]+):-/)![1]!);
      }
    }
    expect(new Set(published).size).toBe(published.length); // distinct host-port variables
    for (const s of [...BROKERS, 'mean-rating-processor', 'movie-data-sink', 'monitor', 'kafdrop'])
      expect([s, services[s].ports?.length]).toEqual([s, 1]);
    // The external listener is unauthenticated: advertised to the host only.
    for (const b of BROKERS) expect(services[b].ports[0]).toMatch(/^\$\{KAFKA_PUBLISH_HOST:-127\.0\.0\.1\}:/);
  });

  it("gives every service instance its own INSTANCE_ID and every consumer instance its own state directory on its service's shared volume", () => {
    const ids = SERVICES.map((s) => envOf(s).INSTANCE_ID);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const volumeOf = (c: string) => (services[c].volumes as string[]).find((v) => v.endsWith(':/data/out'))!.split(':')[0];
    for (const app of CONSUMER_APPS) {
      // Both instances of an app: one volume, SHARED_OUT_DIR at its root, OUT_DIR = instances/<INSTANCE_ID> (the layout the merge reads).
      expect(volumeOf(app)).toBe(volumeOf(`${app}-2`));
      for (const c of [app, `${app}-2`]) {
        expect(envOf(c).SHARED_OUT_DIR).toBe('/data/out');
        expect(envOf(c).OUT_DIR).toBe(`/data/out/instances/${envOf(c).INSTANCE_ID}`);
        expect(envOf(c).INSTANCE_ID).toMatch(new RegExp(`^${app}-\\d+$`));
        expect(envOf(c).GROUP_ID).toBe(envOf(app).GROUP_ID);
      }
    }
    const stateVolumes = CONSUMERS.map(volumeOf);
    expect(new Set(stateVolumes).size).toBe(CONSUMER_APPS.length);
    for (const [name, s] of Object.entries(services)) {
      if ((CONSUMERS as readonly string[]).includes(name)) continue;
      for (const v of (s.volumes ?? []) as string[]) expect([name, stateVolumes.includes(v.split(':')[0]!)]).toEqual([name, false]);
    }
  });

  it('runs three combined KRaft nodes with replication 3 / min ISR 2 for internal topics', () => {
    const ids = BROKERS.map((b) => Number(envOf(b).KAFKA_NODE_ID));
    expect(ids).toEqual([1, 2, 3]);
    for (const b of BROKERS) {
      const e = envOf(b);
      expect(e.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
      expect(e.KAFKA_INTER_BROKER_LISTENER_NAME).toBe('INTERNAL');
      expect(e.KAFKA_ADVERTISED_LISTENERS).toContain(`INTERNAL://${b}:19092`);
      expect(Number(e.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR)).toBe(3);
      expect(Number(e.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR)).toBe(3);
      expect(Number(e.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR)).toBe(2);
      expect(Number(e.KAFKA_MIN_INSYNC_REPLICAS)).toBe(2);
      expect(e.CLUSTER_ID).toBeTruthy();
    }
  });

  it('has healthchecks on the brokers and the long-running services', () => {
    for (const s of [...BROKERS, ...SERVICES]) {
      expect([s, Array.isArray(services[s].healthcheck?.test)]).toEqual([s, true]);
    }
    // Exec form for our images: the local base image has no shell.
    for (const s of SERVICES) expect(services[s].healthcheck.test[0]).toBe('CMD');
  });

  it('depends only on existing services, with conditions they can meet', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, spec] of Object.entries((s.depends_on ?? {}) as Record<string, { condition: string }>)) {
        expect([name, dep, dep in services]).toEqual([name, dep, true]);
        if (spec.condition === 'service_healthy') expect([dep, !!services[dep].healthcheck]).toEqual([dep, true]);
        if (spec.condition === 'service_completed_successfully') expect([dep, services[dep].restart]).toEqual([dep, 'no']);
      }
    }
    for (const app of SERVICES) expect(services[app].depends_on['topic-setup'].condition).toBe('service_completed_successfully');
    for (const b of BROKERS) expect(services['topic-setup'].depends_on[b].condition).toBe('service_healthy');
  });

  it('declares every named volume it uses, and uses every one it declares', () => {
    const used = new Set<string>();
    for (const s of Object.values(services)) {
      for (const v of (s.volumes ?? []) as string[]) {
        const source = v.split(':')[0]!;
        if (/^[a-z][a-z0-9_-]*$/.test(source)) used.add(source);
        else if (source.startsWith('./')) expect(existsSync(join(deploy, source))).toBe(true);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
    for (const c of CONSUMERS) expect(services[c].volumes.some((v: string) => v.endsWith(':/data/out'))).toBe(true);
  });

  it('gives each service only settings it reads', () => {
    for (const app of SERVICES) {
      const reads = new Set(appOptions(app).map((n) => OPTIONS[n].env));
      const unknown = Object.keys(envOf(app)).filter((k) => !reads.has(k));
      expect([app, unknown]).toEqual([app, []]);
    }
    expect(envOf('rating-producer').RATINGS_FILE).toMatch(/^\/data\/in\//);
    expect(envOf('movie-producer').MOVIES_FILE).toMatch(/^\/data\/in\//);
  });

  it('gives PostgreSQL a password from the secret file, asked of every network client, and the consumers the same file', () => {
    const SECRET = '/run/secrets/postgres-password';
    // The host file: generated by stack.sh, git-ignored.
    expect(compose.secrets).toEqual({ 'postgres-password': { file: '${POSTGRES_PASSWORD_SECRET:-./secrets/postgres-password}' } });
    expect(readFileSync(join(deploy, '..', '.gitignore'), 'utf8').split('\n')).toContain('deploy/secrets/');
    // Mounted (compose: read-only at /run/secrets/<name>) in PostgreSQL and the consumers only.
    const withSecret = Object.keys(services).filter((n) => services[n].secrets !== undefined);
    expect(withSecret.sort()).toEqual(['postgres', ...CONSUMERS].sort());
    for (const n of withSecret) expect([n, services[n].secrets]).toEqual([n, ['postgres-password']]);

    const pg = envOf('postgres');
    expect(pg.POSTGRES_PASSWORD_FILE).toBe(SECRET);
    expect(pg.POSTGRES_PASSWORD).toBeUndefined();
    expect(pg.POSTGRES_HOST_AUTH_METHOD).toBe('scram-sha-256');
    // initdb's own lines for 127.0.0.1 and ::1 too (initdb's default is trust for them).
    expect(pg.POSTGRES_INITDB_ARGS).toMatch(/(^| )--auth-host=scram-sha-256( |$)/);
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries((s.environment ?? {}) as Record<string, unknown>))
        expect([name, k, /\btrust\b/.test(String(v))]).toEqual([name, k, false]);
    }

    for (const c of CONSUMERS) {
      expect([c, envOf(c).DATABASE_PASSWORD_FILE]).toEqual([c, `\${DATABASE_PASSWORD_FILE:-${SECRET}}`]);
      // The password comes from the file alone (the services refuse a URL holding one besides it).
      expect([c, new URL(referenced.get('DATABASE_URL')!).password]).toEqual([c, '']);
    }
  });

  it('creates the topics with the create-topics script from the same settings', () => {
    const setup = services['topic-setup'];
    expect(setup.entrypoint.join(' ')).toContain('create-topics.sh');
    for (const k of [
      'TOPIC_RATINGS',
      'TOPIC_MOVIES',
      'TOPIC_MEAN_RATINGS',
      'TOPIC_META_PREFIX',
      'RATINGS_PARTITIONS',
      'TOPIC_REPLICATION_FACTOR',
    ]) {
      expect([k, setup.environment[k]]).toEqual([k, envOf('mean-rating-processor')[k]]);
    }
  });
});

describe('deploy/docker-compose.sasl.yml', () => {
  it("changes only the brokers' environment: PostgreSQL, its secret and the services stay as in docker-compose.yml", () => {
    const sasl = parseDocument(readFileSync(join(deploy, 'docker-compose.sasl.yml'), 'utf8'), { merge: true });
    expect([sasl.errors, sasl.warnings]).toEqual([[], []]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const override = sasl.toJS() as Record<string, any>;
    expect(Object.keys(override).filter((k) => !k.startsWith('x-'))).toEqual(['services']);
    expect(Object.keys(override.services).sort()).toEqual(BROKERS);
    for (const b of BROKERS) expect([b, Object.keys(override.services[b])]).toEqual([b, ['environment']]);
  });
});

describe('deploy/.env.example', () => {
  it('lists every variable the compose file reads, with the same default', () => {
    for (const [name, def] of referenced) {
      expect([name, envExample.has(name)]).toEqual([name, true]);
      if (def !== undefined) expect([name, envExample.get(name)]).toEqual([name, def]);
    }
    // COMPOSE_PROJECT_NAME: read by compose itself (names the containers, network and volumes).
    for (const name of envExample.keys()) expect([name, referenced.has(name) || name === 'COMPOSE_PROJECT_NAME']).toEqual([name, true]);
  });

  it('covers every setting the four services read that makes sense in the stack, with its default', () => {
    expect(stackEnvs.size).toBeGreaterThan(20);
    // Fixed by the image/compose file (paths, endpoint) or per process (instance id, state dir).
    const fixed = new Set([
      'INSTANCE_ID',
      'HTTP_HOST',
      'HTTP_PORT',
      'RATINGS_FILE',
      'MOVIES_FILE',
      'OUT_DIR',
      'API_ADVERTISED_URL', // each sink's own address in the stack
      'SHARED_OUT_DIR',
      'STATE_DIR',
      'GROUP_ID',
      'GROUP_INSTANCE_ID', // per instance, opt-in (deploy/README.md)
    ]);
    // Stack-specific defaults: the compose cluster, JSON logs for a log collector.
    const differs: Record<string, string> = {
      KAFKA_BROKERS: 'kafka-1:19092,kafka-2:19092,kafka-3:19092',
      LOG_FORMAT: 'json',
      DATABASE_URL: 'postgres://postgres@postgres:5432/movie_stream',
      // The mounted secret postgres-password.
      DATABASE_PASSWORD_FILE: '/run/secrets/postgres-password',
    };
    for (const [env, spec] of stackEnvs) {
      if (fixed.has(env)) continue;
      expect([env, envExample.has(env)]).toEqual([env, true]);
      expect([env, envExample.get(env)]).toEqual([env, differs[env] ?? spec.default ?? '']);
    }
    for (const env of ['HTTP_HOST', 'HTTP_PORT', 'OUT_DIR']) expect(envOf('mean-rating-processor')[env]).toBeDefined();
  });
});
