import { loadConfig } from '@movie-stream/config';
import { runsOf } from '@movie-stream/messaging';
import { APPS, CONSUMER_APPS } from './apps';
import { configEnv, runLayout } from './layout';
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
