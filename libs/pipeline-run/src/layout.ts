// A run's names and each service's environment. Every name derives from the run id (topics and groups
// `<runId>.*`, meta topics from messaging's runMetaPrefix) and every variable name comes from the config
// option list, so the runner cannot drift from what the services read.
import { join } from 'node:path';
import { OPTIONS, OptionName } from '@movie-stream/config';
import { runMetaPrefix, topicNames, TopicNames } from '@movie-stream/messaging';
import { AppName, CONSUMER_APPS, ConsumerApp } from './apps';

export interface RunLayout {
  runId: string;
  /** Topic settings as the services take them (topicRatings, …, topicMetaPrefix). */
  topicSettings: { topicRatings: string; topicMovies: string; topicMeanRatings: string; topicMetaPrefix: string };
  topics: { ratings: string; movies: string; meanRatings: string; metaPrefix: string };
  /** Every topic name, meta topics included (what createPipelineTopics takes). */
  names: TopicNames;
  groups: Record<'processor' | 'sink', string>;
  /** Each consumer's group and the topics it consumes (lag is measured over these). */
  consumers: Record<ConsumerApp, { group: string; topics: string[] }>;
}

/** The topics and consumer groups of run `runId`: all start with `<runId>.`. */
export function runLayout(runId: string): RunLayout {
  const topicSettings = {
    topicRatings: `${runId}.ratings`,
    topicMovies: `${runId}.movies`,
    topicMeanRatings: `${runId}.mean-ratings`,
    topicMetaPrefix: runMetaPrefix(runId),
  };
  const names = topicNames(topicSettings);
  const groups = { processor: `${runId}.mean-rating-processor`, sink: `${runId}.movie-data-sink` };
  return {
    runId,
    topicSettings,
    topics: { ratings: names.ratings, movies: names.movies, meanRatings: names.meanRatings, metaPrefix: topicSettings.topicMetaPrefix },
    names,
    groups,
    consumers: {
      'mean-rating-processor': { group: groups.processor, topics: [names.ratings] },
      'movie-data-sink': { group: groups.sink, topics: [names.movies, names.meanRatings] },
    },
  };
}

/**
 * Settings as environment variables, named by the config option list (OPTIONS[name].env). An undefined
 * value stays in as undefined: it hides the runner's own variable of that name from the service.
 */
export function configEnv(settings: Partial<Record<OptionName, string | number | boolean | string[] | undefined>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(settings) as [OptionName, unknown][]) {
    const spec = OPTIONS[name];
    if (!spec) throw new Error(`configEnv: no option ${name}`);
    env[spec.env] = value === undefined ? undefined : Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/** Where a scaled run keeps its consumer instances' own output directories: `<out>/instances/<app>-<i>`. */
export { INSTANCES_DIR } from '@movie-stream/storable-frame';
import { INSTANCES_DIR } from '@movie-stream/storable-frame';

/** The file each consumer writes into its output directory (and a scaled run merges into `<out>`). */
export const CONSUMER_OUTPUT: Record<ConsumerApp, string> = {
  'mean-rating-processor': 'mean-ratings.csv',
  'movie-data-sink': 'movie-data.csv',
};

/** Instance i (0-based) of an app in a scaled run: its name, output directory, INSTANCE_ID and log file. */
export interface InstanceLayout {
  name: string;
  outDir: string;
  instanceId: string;
  logName: string;
}

/**
 * Where instance `i` of `app` writes. Unscaled (one instance per app): the run's output directory and the
 * names a run always had. Scaled, each consumer instance has a directory of its own (its state under it,
 * as a single service keeps it under `<out>`), so instances never share a state; producers stay as they are.
 */
export function instanceLayout(o: { outDir: string; runId: string; app: AppName; instance: number; scaled: boolean }): InstanceLayout {
  const consumer = (CONSUMER_APPS as readonly string[]).includes(o.app);
  if (!o.scaled || !consumer) {
    if (o.instance !== 0)
      throw new Error(`${o.app}: instance ${o.instance} in a run that is not scaled (only consumers of a scaled run have several)`);
    return { name: o.app, outDir: o.outDir, instanceId: `${o.app}-${o.runId}`, logName: o.app };
  }
  const name = `${o.app}-${o.instance}`;
  return { name, outDir: join(o.outDir, INSTANCES_DIR, name), instanceId: `${name}-${o.runId}`, logName: name };
}
