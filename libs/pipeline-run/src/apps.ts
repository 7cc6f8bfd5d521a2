// The pipeline's services, in one list: who runs in a pipeline run, which of them consume, where the
// bundles are.
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** The apps of a pipeline run; the consumers are started first, the producers after them. */
export const APPS = ['rating-producer', 'movie-producer', 'mean-rating-processor', 'movie-data-sink'] as const;
export type AppName = (typeof APPS)[number];

/** The apps that consume (each in its own consumer group): a run is over when both have drained. */
export const CONSUMER_APPS = ['mean-rating-processor', 'movie-data-sink'] as const satisfies readonly AppName[];
export type ConsumerApp = (typeof CONSUMER_APPS)[number];

export const PRODUCER_APPS = ['rating-producer', 'movie-producer'] as const satisfies readonly AppName[];
export type ProducerApp = (typeof PRODUCER_APPS)[number];
