// The images, for real: build all four with tools/containers/build-image.sh, then run the whole
// pipeline from them (host network, the shared local broker) on data/sample and compare
// movie-data.csv with the independent reference. Slow and needs podman/docker: run with
// `npm run test:containers` (jest -c tools/containers/jest.config.cjs), not by `npm test`.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { consumerLag, kafkaClient, totalLag } from '@movie-stream/messaging';
import { compareMovieData, computeReferenceMeans, freePorts, movieIdsOf, readSemicolonCsv, until } from '@movie-stream/test-support';
import { APPS, CONSUMER_APPS, PRODUCER_APPS } from '@movie-stream/pipeline-run';
import { ROOT, ctr, ctrAsync, engine, engineEnv } from './engine';

// Image builds and a pipeline run in containers: minutes.
jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const sample = join(ROOT, 'data', 'sample');

const version = (app: string) => JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')).version as string;
const image = (app: string) => `movie-stream/${app}:${version(app)}`;
/** Runs `node -e script` in an app's image, without a network. */
const nodeIn = (app: string, script: string) => ctr(['run', '--rm', '--network', 'none', '--entrypoint', 'node', image(app), '-e', script]);
const buildSeconds: Record<string, number> = {};
const containers: string[] = [];

beforeAll(() => {
  // Fresh bundles, then the images (each build is timed).
  execFileSync('node', [join(ROOT, 'tools', 'build', 'bundle.mjs'), ...APPS], { stdio: 'inherit' });
  for (const app of APPS) {
    const t = performance.now();
    execFileSync('bash', [join(ROOT, 'tools', 'containers', 'build-image.sh'), app], { stdio: 'inherit', env: engineEnv });
    buildSeconds[app] = (performance.now() - t) / 1000;
  }
});

afterAll(() => {
  for (const c of containers) ctr(['rm', '-f', '-t', '0', c]);
  const sizes = ctr(['images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'])
    .stdout.split('\n')
    .filter((l) => l.includes('movie-stream'))
    .join('\n');
  const times = Object.entries(buildSeconds)
    .map(([a, s]) => `${a} ${s.toFixed(1)} s`)
    .join(', ');
  process.stderr.write(`image builds: ${times}\nimages:\n${sizes}\n`);
});

describe('container images', () => {
  it('are tagged with the version and latest, run as uid 10001, and carry labels and a healthcheck', () => {
    for (const app of APPS) {
      for (const tag of [image(app), `movie-stream/${app}:latest`]) expect([tag, ctr(['image', 'inspect', tag]).status]).toEqual([tag, 0]);
      const id = ctr(['run', '--rm', '--network', 'none', '--entrypoint', 'id', image(app)]);
      expect(id.stdout).toMatch(/^uid=10001\b.*gid=10001\b/);
      const inspect = JSON.parse(ctr(['image', 'inspect', image(app)]).stdout)[0];
      const config = inspect.Config ?? inspect.config;
      expect(config.User).toBe('10001:10001');
      expect(config.Labels['org.opencontainers.image.version']).toBe(version(app));
      expect(config.Labels['org.opencontainers.image.title']).toBe(`movie-stream ${app}`);
      expect(config.Labels['org.opencontainers.image.source']).toBeTruthy();
      // podman reports the healthcheck at the top level, docker in Config.
      expect((config.Healthcheck ?? inspect.Healthcheck).Test.join(' ')).toContain('/healthz');
      expect(config.Env).toEqual(expect.arrayContaining(['HTTP_HOST=0.0.0.0', 'HTTP_PORT=8080', 'OUT_DIR=/data/out']));
      // The snapshot worker must sit next to main.js, and lz4-napi in node_modules beside them.
      const files = nodeIn(app, 'console.log(require("fs").readdirSync("/app").join(","))');
      expect(files.stdout.trim()).toBe('main.js,node_modules,snapshot-worker.js');
      // lz4-napi (a native module, not in the bundle) must load from the copy beside it and write an LZ4 frame.
      const lz4 = nodeIn(app, 'console.log(require("lz4-napi").compressFrameSync(Buffer.from("x")).readUInt32LE(0).toString(16))');
      expect(lz4.stdout.trim()).toBe('184d2204');
    }
  });

  it('run the whole pipeline on data/sample exactly, and the consumers stop on SIGTERM within 10 s with exit 0', async () => {
    const runId = `ctr-${Date.now().toString(36)}-${process.pid}`;
    const topics = {
      TOPIC_RATINGS: `${runId}.ratings`,
      TOPIC_MOVIES: `${runId}.movies`,
      TOPIC_MEAN_RATINGS: `${runId}.mean-ratings`,
      TOPIC_META_PREFIX: `${runId}.meta`,
    };
    const groups = { processor: `${runId}.mean-rating-processor`, sink: `${runId}.movie-data-sink` };
    const kafka = kafkaClient({ brokers }, runId, createLogger({ service: 'container-test', level: 'error', format: 'json' }));
    const admin = kafka.admin();
    await admin.connect();
    const out = mkdtempSync(join(tmpdir(), 'ctr-out-'));
    chmodSync(out, 0o777); // written by uid 10001 inside the containers
    const started = performance.now();
    try {
      // The compose stack's topic setup script, with the project's kafka-topics (one broker: replication 1).
      execFileSync('bash', [join(ROOT, 'deploy', 'create-topics.sh')], {
        env: {
          ...process.env,
          ...topics,
          BOOTSTRAP: brokers.join(','),
          TOPIC_REPLICATION_FACTOR: '1',
          RATINGS_PARTITIONS: '6',
          KAFKA_TOPICS: `bash ${ROOT}/tools/kafka/kafka.sh topics`,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const meta = await admin.fetchTopicMetadata({ topics: [topics.TOPIC_RATINGS, topics.TOPIC_MOVIES, `${topics.TOPIC_RATINGS}.dlq`] });
      const partitions = Object.fromEntries(meta.topics.map((t) => [t.name.slice(runId.length + 1), t.partitions.length]));
      expect(partitions).toEqual({ ratings: 6, movies: 6, 'ratings.dlq': 1 });
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: topics.TOPIC_MOVIES, configNames: ['cleanup.policy'] }],
      });
      expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('compact,delete');

      const env = (extra: Record<string, string>) =>
        Object.entries({ KAFKA_BROKERS: brokers.join(','), ...topics, SNAPSHOT_INTERVAL_MS: '1000', LOG_FORMAT: 'json', ...extra }).flatMap(
          ([k, v]) => ['-e', `${k}=${v}`],
        );
      const common = ['--network', 'host', '-v', `${out}:/data/out`];
      const [processorPort, sinkPort] = await freePorts(2);
      const ports = { processor: processorPort!, sink: sinkPort! };
      const name = (app: string) => `${runId}-${app}`;
      for (const [app, group, port] of [
        ['mean-rating-processor', groups.processor, ports.processor],
        ['movie-data-sink', groups.sink, ports.sink],
      ] as const) {
        containers.push(name(app));
        const r = ctr(['run', '-d', '--name', name(app), ...common, ...env({ GROUP_ID: group, HTTP_PORT: String(port) }), image(app)]);
        expect([
          app,
          r.status,
          r.stderr
            .split('\n')
            .filter((l) => !/systemd/.test(l))
            .join('\n')
            .trim(),
        ]).toEqual([app, 0, '']);
      }
      const producers = await Promise.all(
        PRODUCER_APPS.map((app) => {
          containers.push(name(app));
          const file = app === 'rating-producer' ? ['RATINGS_FILE', '/data/in/ratings.csv'] : ['MOVIES_FILE', '/data/in/movies.csv'];
          return ctrAsync([
            'run',
            '--name',
            name(app),
            ...common,
            '-v',
            `${sample}:/data/in:ro`,
            '--no-healthcheck',
            ...env({ [file[0]!]: file[1]!, HTTP_PORT: '-1' }),
            image(app),
          ]);
        }),
      );
      for (const p of producers) expect([p.status, p.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
      const summaries = producers.map((p) => JSON.parse(p.stdout.split('\n').find((l) => l.startsWith('{"summary"'))!).summary);
      expect(summaries[0].published).toBeGreaterThan(4000);

      // Drained = both groups committed to the end offsets (which happens only after a snapshot).
      const waitForLag = async (group: string, ts: string[]) => {
        const caughtUp = await until(
          async () => {
            for (const c of [name('mean-rating-processor'), name('movie-data-sink')]) {
              expect([c, ctr(['inspect', '-f', '{{.State.Running}}', c]).stdout.trim()]).toEqual([c, 'true']);
            }
            return totalLag(await consumerLag(admin, group, ts)) === 0;
          },
          180_000,
          500,
        );
        if (!caughtUp) throw new Error(`${group} did not catch up`);
      };
      await waitForLag(groups.processor, [topics.TOPIC_RATINGS]);
      await waitForLag(groups.sink, [topics.TOPIC_MOVIES, topics.TOPIC_MEAN_RATINGS]);

      // The image's HEALTHCHECK (node asking /healthz on $HTTP_PORT) passes on a running consumer.
      const health = ctr(['healthcheck', 'run', name('mean-rating-processor')]);
      if (engine[0] === 'podman') expect([health.status, health.stderr.trim()]).toEqual([0, expect.any(String)]);

      // Graceful stop: SIGTERM, up to 10 s before SIGKILL; must exit 0 well within that.
      for (const app of CONSUMER_APPS) {
        const t = performance.now();
        expect(ctr(['stop', '-t', '10', name(app)]).status).toBe(0);
        const seconds = (performance.now() - t) / 1000;
        const code = ctr(['inspect', '-f', '{{.State.ExitCode}}', name(app)]).stdout.trim();
        process.stderr.write(`${app}: stopped in ${seconds.toFixed(1)} s, exit code ${code}\n`);
        expect({ app, code, fast: seconds < 9.5 }).toEqual({ app, code: '0', fast: true });
      }

      const reference = await computeReferenceMeans(join(sample, 'ratings.csv'));
      const movieIds = await movieIdsOf(join(sample, 'movies.csv'));
      const rows = await readSemicolonCsv(join(out, 'movie-data.csv'));
      expect(compareMovieData(rows, reference.means, movieIds)).toEqual([]);
      expect(rows).toHaveLength(new Set([...movieIds, ...reference.means.keys()]).size);
      expect(summaries[0].published).toBe(reference.ratings);
      process.stderr.write(
        `pipeline in containers: ${reference.ratings} ratings, ${rows.length} movies, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } finally {
      for (const c of containers.splice(0)) ctr(['rm', '-f', '-t', '0', c]);
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${runId}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.deleteGroups([groups.processor, groups.sink]).catch(() => undefined);
      await admin.disconnect();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
