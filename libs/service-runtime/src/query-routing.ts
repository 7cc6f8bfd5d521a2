// The sink's movie API, wired to its settings and, in file mode, to Kafka: the consumer group says who serves
// which partition (GroupDirectory), the topics' partition count and the producers' hash say where a movie is.
import type { MOVIE_API_OPTIONS } from '@movie-stream/config';
import {
  lockedMovieQueries,
  routedMovieQueries,
  withMovieApi,
  type AsOf,
  type MovieApi,
  type MovieApiOptions,
  type MovieChanges,
  type Partitioning,
} from '@movie-stream/movie-api';
import { GroupDirectory, keyPartitioner } from '@movie-stream/messaging';
import type { MovieDataRow } from '@movie-stream/movie-data';
import type { StorableFrame } from '@movie-stream/storable-frame';
import type { ServiceContext } from './run-service';
import { CaughtUp } from './caught-up';
import type { Serving } from './stateful-consumer-spec';

type ApiContext = Pick<ServiceContext<(typeof MOVIE_API_OPTIONS)[number]>, 'config' | 'metrics' | 'logger'>;

/** The API's bounds from the service's settings. */
export function movieApiOptions(ctx: ApiContext, changes?: MovieChanges): MovieApiOptions {
  return {
    changes,
    maxConcurrentRequests: ctx.config.apiMaxConcurrentRequests as number,
    pushIntervalMs: ctx.config.apiPushIntervalMs as number,
    pushMaxClients: ctx.config.apiPushMaxClients as number,
    pushClientBufferBytes: ctx.config.apiPushClientBufferBytes as number,
    registry: ctx.metrics.registry,
    logger: ctx.logger,
    onError: (e) => ctx.logger.warn(`movie API event stream: ${e.message}`),
  };
}

export interface RoutedApiOptions {
  ctx: ApiContext &
    Pick<ServiceContext<never>, 'kafka' | 'httpUrl'> & { config: { apiAdvertisedUrl?: unknown; apiForwardTimeoutMs?: unknown } };
  groupId: string;
  /** The co-partitioned topics the table is built from; the first one's partitions key the movies. */
  topics: string[];
  frame: StorableFrame<number, MovieDataRow>;
  serving: Serving;
  changes: MovieChanges;
  /** How long a read of the group is used (default 1 s): forwards between two reads cost no broker request. */
  directoryMaxAgeMs?: number;
}

/** This instance's API URL as the other instances reach it (API_ADVERTISED_URL, or where the server listens). */
export function advertisedUrl(ctx: RoutedApiOptions['ctx']): string | undefined {
  return (ctx.config.apiAdvertisedUrl as string | undefined) || ctx.httpUrl;
}

/**
 * The movie API of one sink instance among several, over its table (file mode): every movie and the global
 * top-N from any instance (routedMovieQueries; docs/SCALING.md "Queries across instances"). A partition is
 * answered here once it is claimed and caught up (CaughtUp). `close` ends the push streams and the group reads.
 */
export function routedMovieApi(opts: RoutedApiOptions): MovieApi {
  const { ctx, frame, topics } = opts;
  const admin = ctx.kafka.admin();
  let connecting: Promise<void> | undefined;
  const connected = () => (connecting ??= admin.connect().catch((e) => ((connecting = undefined), Promise.reject(e))));
  const directory = new GroupDirectory(
    { describeGroups: async (ids) => (await connected(), admin.describeGroups(ids)) },
    opts.groupId,
    opts.directoryMaxAgeMs ?? 1000,
  );
  let partitioning: Promise<Partitioning> | undefined;
  const readPartitioning = async (): Promise<Partitioning> => {
    await connected();
    const meta = await admin.fetchTopicMetadata({ topics: [topics[0]] });
    const count = meta.topics[0]?.partitions.length ?? 0;
    if (count === 0) throw new Error(`topic ${topics[0]} has no partitions yet`);
    const hash = keyPartitioner(topics[0], count);
    return { count, partitionOf: (movieId) => hash(String(movieId)) };
  };
  // Read once; a failed read (the topics not created yet) is tried again by the next query.
  const partitions = () => (partitioning ??= readPartitioning().catch((e) => ((partitioning = undefined), Promise.reject(e))));
  // Set by the routed queries' first read of the partitioning, which comes before any local query.
  let partitionOf: ((movieId: number) => number) | undefined;

  const caughtUp = new CaughtUp({
    topics,
    endOffsets: async (topic) => {
      await connected();
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    },
    position: (topic, p) => frame.nextOffset(topic, p),
    onError: (e) => ctx.logger.warn(`movie API: could not read the end offsets of claimed partitions: ${e.message}`),
  });

  // Claims are noticed when asked; asked on a timer too, so that a partition is ready before its first query.
  const watch = setInterval(() => caughtUp.serving(opts.serving.running()), 250);
  watch.unref();

  // Inside frame.read: the offsets of the same moment as the rows read.
  const asOf = (ps: readonly number[] | undefined): AsOf => {
    const out: AsOf = {};
    const all = ps ?? [...Array(frame.partitionCount(topics[0]) ?? 0).keys()];
    for (const p of all) {
      const at: Record<string, string> = {};
      for (const t of topics) {
        const next = frame.nextOffset(t, p);
        if (next !== undefined) at[t] = next;
      }
      out[p] = at;
    }
    return out;
  };
  const local = lockedMovieQueries((fn) => frame.read(fn), {
    partitionOf: (id) => {
      // Routed queries read the partitioning before they ask the local table.
      if (!partitionOf) throw new Error('the partitioning is not known yet');
      return partitionOf(id);
    },
    asOf,
  });
  const self = advertisedUrl(ctx) ?? '';
  const routed = routedMovieQueries({
    local,
    self,
    partitioning: async () => {
      const p = await partitions();
      partitionOf = p.partitionOf;
      return p;
    },
    running: () => caughtUp.serving(opts.serving.running()),
    directory: () => directory.view(),
    invalidate: () => directory.invalidate(),
    timeoutMs: ctx.config.apiForwardTimeoutMs as number,
  });
  // Other instances' changes are not in the local feed: push streams also poll.
  const api = withMovieApi(
    routed.queries,
    { routes: routed.routes, fallback: routed.fallback },
    {
      ...movieApiOptions(ctx, opts.changes),
      poll: true,
    },
  );
  return {
    ...api,
    close: () => {
      clearInterval(watch);
      api.close();
      void admin.disconnect().catch(() => undefined);
    },
  };
}
