import { loadConfig } from '@movie-stream/config';
import { runsOf } from '@movie-stream/messaging';
import { AppName, APPS, CONSUMER_APPS } from './apps';
import { configEnv, instanceLayout, runLayout } from './layout';
import { PipelineRun } from './pipeline-run';

const SERVICE_SETTINGS = [
  'brokers',
  'topicRatings',
  'topicMovies',
  'topicMeanRatings',
  'topicMetaPrefix',
  'outDir',
  'groupId',
  'snapshotIntervalMs',
  'instanceId',
  'httpPort',
  'ratingsPartitions',
] as const;

describe('runLayout', () => {
  it('puts every topic and group under the run id, with the meta topics the report finds again', () => {
    const l = runLayout('run-abc-42');
    const all = [...Object.values(l.names), ...Object.values(l.groups)];
    expect(all.filter((n) => !n.startsWith('run-abc-42.'))).toEqual([]);
    expect(new Set(all).size).toBe(all.length);
    expect(runsOf([l.names.metaPublished, l.names.metaConsumed]).map((r) => r.metaPrefix)).toEqual([l.topics.metaPrefix]);
    expect(l.consumers['mean-rating-processor']).toEqual({ group: l.groups.processor, topics: [l.topics.ratings] });
    expect(l.consumers['movie-data-sink']).toEqual({ group: l.groups.sink, topics: [l.topics.movies, l.topics.meanRatings] });
  });
});

describe('configEnv', () => {
  it('names each setting by its config option and refuses unknown ones', () => {
    expect(configEnv({ metaWindowMs: 100, brokers: ['a:1', 'b:2'], groupId: undefined })).toEqual({
      META_WINDOW_MS: '100',
      KAFKA_BROKERS: 'a:1,b:2',
      GROUP_ID: undefined,
    });
    expect(() => configEnv({ nope: 1 } as never)).toThrow('configEnv: no option nope');
  });
});

describe('PipelineRun.serviceEnv', () => {
  const run = new PipelineRun({
    ratingsFile: 'r.csv',
    moviesFile: 'm.csv',
    outDir: '/tmp/x',
    brokers: ['127.0.0.1:1', '127.0.0.1:2'],
    runId: 'run-t-1',
    ratingsPartitions: 3,
    snapshotIntervalMs: 700,
    env: { KAFKA_ACKS: '1' },
    appEnv: (a) => (a === 'movie-data-sink' ? { HTTP_PORT: '9999' } : {}),
  });

  it('is what each service reads back as the run’s settings', () => {
    for (const app of APPS) {
      // Over a parent environment with settings of its own: the run's must win.
      const env: NodeJS.ProcessEnv = { ...process.env, GROUP_ID: 'parent-group', TOPIC_RATINGS: 'parent-ratings', ...run.serviceEnv(app) };
      const c = loadConfig(SERVICE_SETTINGS, [], env);
      const consumer = (CONSUMER_APPS as readonly string[]).includes(app);
      expect({ app, ...c }).toEqual({
        app,
        brokers: ['127.0.0.1:1', '127.0.0.1:2'],
        topicRatings: 'run-t-1.ratings',
        topicMovies: 'run-t-1.movies',
        topicMeanRatings: 'run-t-1.mean-ratings',
        topicMetaPrefix: 'run-t-1.meta',
        outDir: '/tmp/x',
        groupId: consumer ? run.layout.consumers[app as 'movie-data-sink'].group : undefined,
        snapshotIntervalMs: 700,
        instanceId: `${app}-run-t-1`,
        httpPort: app === 'movie-data-sink' ? 9999 : 0,
        ratingsPartitions: 3,
      });
      expect(env.KAFKA_ACKS).toBe('1');
    }
  });
});

describe('a scaled run', () => {
  const run = new PipelineRun({
    ratingsFile: 'r.csv',
    moviesFile: 'm.csv',
    outDir: '/tmp/x',
    brokers: ['127.0.0.1:1'],
    runId: 'run-s-1',
    processors: 3,
    sinks: 2,
    appEnv: (a, i) => (a === 'movie-data-sink' ? configEnv({ httpPort: 9000 + i }) : {}),
  });

  it('gives every consumer instance its own output directory, INSTANCE_ID and log; producers stay as they are', () => {
    expect(run.scaled).toBe(true);
    expect(run.instanceCounts).toEqual({ 'mean-rating-processor': 3, 'movie-data-sink': 2 });
    const seen = (app: AppName, i: number) => {
      const c = loadConfig(['outDir', 'instanceId', 'httpPort', 'groupId'], [], { ...process.env, ...run.serviceEnv(app, i) });
      return { ...c, log: run.instanceLayout(app, i).logName };
    };
    expect([0, 1, 2].map((i) => seen('mean-rating-processor', i))).toEqual(
      [0, 1, 2].map((i) => ({
        outDir: `/tmp/x/instances/mean-rating-processor-${i}`,
        instanceId: `mean-rating-processor-${i}-run-s-1`,
        httpPort: 0,
        groupId: 'run-s-1.mean-rating-processor',
        log: `mean-rating-processor-${i}`,
      })),
    );
    expect([0, 1].map((i) => seen('movie-data-sink', i))).toEqual(
      [0, 1].map((i) => ({
        outDir: `/tmp/x/instances/movie-data-sink-${i}`,
        instanceId: `movie-data-sink-${i}-run-s-1`,
        httpPort: 9000 + i,
        groupId: 'run-s-1.movie-data-sink',
        log: `movie-data-sink-${i}`,
      })),
    );
    expect(seen('rating-producer', 0)).toEqual({
      outDir: '/tmp/x',
      instanceId: 'rating-producer-run-s-1',
      httpPort: 0,
      groupId: undefined,
      log: 'rating-producer',
    });
    expect(() => run.serviceEnv('rating-producer', 1)).toThrow('rating-producer: instance 1 in a run that is not scaled');
  });

  it('is scaled on request with one instance each, and not at all by default', () => {
    const base = { ratingsFile: '', moviesFile: '', outDir: '/tmp/y', brokers: ['127.0.0.1:1'], runId: 'run-s-2' };
    const one = new PipelineRun({ ...base, scaled: true });
    expect([one.scaled, one.instanceLayout('movie-data-sink', 0).outDir]).toEqual([true, '/tmp/y/instances/movie-data-sink-0']);
    const plain = new PipelineRun(base);
    expect([plain.scaled, plain.instanceLayout('movie-data-sink', 0)]).toEqual([
      false,
      { name: 'movie-data-sink', outDir: '/tmp/y', instanceId: 'movie-data-sink-run-s-2', logName: 'movie-data-sink' },
    ]);
    expect(() => plain.serviceEnv('movie-data-sink', 1)).toThrow('movie-data-sink: instance 1 in a run that is not scaled');
    expect(() => new PipelineRun({ ...base, sinks: 0 })).toThrow('instances of movie-data-sink must be an integer ≥ 1, got 0');
  });
});

describe('instanceLayout', () => {
  it('names instances by app and index under <out>/instances', () => {
    expect(instanceLayout({ outDir: '/o', runId: 'r', app: 'mean-rating-processor', instance: 11, scaled: true })).toEqual({
      name: 'mean-rating-processor-11',
      outDir: '/o/instances/mean-rating-processor-11',
      instanceId: 'mean-rating-processor-11-r',
      logName: 'mean-rating-processor-11',
    });
  });
});
