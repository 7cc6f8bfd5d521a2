// A scaled run's result: each consumer instance holds the partitions it owns, in `<out>/instances/<app>-<i>`;
// the run's `<out>/mean-ratings.csv` and `<out>/movie-data.csv` are merged from those states.
import { join } from 'node:path';
import { keyPartitioner } from '@movie-stream/messaging';
import { instanceStateDirs as serviceStateDirs, mergeSnapshots, MergeResult, readCurrentState } from '@movie-stream/storable-frame';
import { CONSUMER_APPS, ConsumerApp } from './apps';
import { CONSUMER_OUTPUT, INSTANCES_DIR } from './layout';

/** The state directory of each instance of `app` found under `<outDir>/instances`, in instance order. */
export function instanceStateDirs(outDir: string, app: ConsumerApp): string[] {
  return serviceStateDirs(outDir, app);
}

/** The topics the states were built from: those they keep a partition count of. */
function topicsOfStates(stateDirs: string[]): string[] {
  const topics = new Set<string>();
  for (const d of stateDirs) for (const t of Object.keys(readCurrentState(d)?.meta.partitions ?? {})) topics.add(t);
  return [...topics].sort();
}

export interface MergedOutput extends MergeResult {
  app: ConsumerApp;
  file: string;
  instances: number;
}

/**
 * Merges every consumer's instance states into `<outDir>/<its output file>`. A row's partition is where
 * the Publisher puts its movie id (Kafka's murmur2 partitioner). `topicsOf` names the topics whose
 * partitions the instances divide; default: the topics the states hold partition counts of (a run's topic
 * names are in its states, so an out directory alone suffices). Throws for a consumer without any instance.
 */
export function mergeRunOutputs(
  outDir: string,
  topicsOf?: (app: ConsumerApp) => string[],
  apps: readonly ConsumerApp[] = CONSUMER_APPS,
): MergedOutput[] {
  return apps.map((app) => {
    const stateDirs = instanceStateDirs(outDir, app);
    if (stateDirs.length === 0) throw new Error(`no ${app} instance under ${join(outDir, INSTANCES_DIR)}: not the output of a scaled run`);
    const topics = topicsOf?.(app) ?? topicsOfStates(stateDirs);
    if (topics.length === 0) throw new Error(`no ${app} instance under ${join(outDir, INSTANCES_DIR)} saved a state`);
    const file = join(outDir, CONSUMER_OUTPUT[app]);
    const partitioners = new Map<number, (key: string) => number>();
    const result = mergeSnapshots({
      stateDirs,
      outputFile: file,
      topics,
      partitionOf: (record, count) => {
        let p = partitioners.get(count);
        if (!p) partitioners.set(count, (p = keyPartitioner(topics[0], count)));
        return p(String(record.movieId));
      },
    });
    return { app, file, instances: stateDirs.length, ...result };
  });
}
