// movie-data-sink (the seed's "moviedatasink"): movies + mean-ratings → movie-data.csv (--sink csv) or the
// movie_data table in PostgreSQL (--sink postgres); serves the live JSON API (/api/movies) from either.
import { MOVIE_API_OPTIONS } from '@movie-stream/config';
import { MovieChangeFeed, withMovieApi, type MovieApi } from '@movie-stream/movie-api';
import { applySinkBatch, pgMovieChanges, pgMovieQueries, type PgMovieChanges } from '@movie-stream/movie-db';
import {
  applyMeanRatings,
  applyMovie,
  decodeMeans,
  decodeMovies,
  movieDataFromRecord,
  MovieDataRow,
  MovieDataRows,
  MOVIE_DATA_COLUMNS,
} from '@movie-stream/movie-data';
import {
  advertisedUrl,
  BadMessage,
  consumerGroupId,
  movieApiOptions,
  routedMovieApi,
  DATABASE_CONSUMER_OPTIONS,
  modeOf,
  runDatabaseConsumer,
  runService,
  runStatefulConsumer,
  sendToDeadLetterQueue,
} from '@movie-stream/service-runtime';

runService('movie-data-sink', [...DATABASE_CONSUMER_OPTIONS, 'sinkStore', ...MOVIE_API_OPTIONS], async (ctx) => {
  const store = modeOf(ctx.config.sinkStore, 'SINK_STORE (--sink)', ['csv', 'postgres'] as const);
  // Co-partitioned: the instance owning partition p holds a movie's title and its mean.
  const topics = [ctx.topics.movies, ctx.topics.meanRatings];
  if (store === 'postgres') {
    // movie_data holds every instance's movies; `changes` hears every instance's batches (LISTEN/NOTIFY).
    let changes: PgMovieChanges | undefined;
    const result = await runDatabaseConsumer({
      ctx,
      topics,
      ready: (db) => {
        changes = pgMovieChanges(db, { logger: ctx.logger });
        // movie_data holds every movie: any instance answers any query itself.
        ctx.mountRoutes(withMovieApi(pgMovieQueries(db, { groupId: consumerGroupId(ctx) }), { routes: {} }, movieApiOptions(ctx, changes)));
      },
      handle: async (batch, db, groupId, publisher) => {
        const bad: BadMessage[] = [];
        const onBad = (message: BadMessage['message'], reason: string) => bad.push({ message, reason });
        const isMovies = batch.topic === ctx.topics.movies;
        const movies = isMovies ? decodeMovies(batch.messages, onBad) : [];
        const means = isMovies ? [] : decodeMeans(batch.messages, onBad);
        await sendToDeadLetterQueue(ctx, publisher, batch, bad);
        const offsets = [{ topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset, nextOffset: batch.nextOffset }];
        return applySinkBatch(db, { groupId, movies, means, offsets });
      },
    }).finally(() => changes?.close());
    ctx.logger.info('movie_data: stopped', { result });
    return;
  }
  const changes = new MovieChangeFeed();
  let api: MovieApi | undefined;
  const result = await runStatefulConsumer<number, MovieDataRow>({
    ctx,
    name: 'movie-data',
    columns: MOVIE_DATA_COLUMNS,
    fromRecord: movieDataFromRecord,
    topics,
    // Each instance holds its partitions' movies; the API answers every movie from any instance (forwarding).
    endpoint: () => advertisedUrl(ctx),
    ready: (frame, serving) => {
      api = routedMovieApi({ ctx, groupId: consumerGroupId(ctx), topics, frame, serving, changes });
      ctx.mountRoutes(api);
    },
    handle: async (batch, frame, publisher) => {
      const changed = new Set<number>();
      await frame.update(async (rows, recordOffset) => {
        // The push streams re-evaluate the movies a batch changed, once it is applied (recorded only while
        // someone listens: otherwise it is work per message for nobody).
        const recording: MovieDataRows =
          changes.listenerCount === 0
            ? rows
            : {
                get: (id) => rows.get(id),
                set: (id, row) => (changed.add(id), rows.set(id, row)),
              };
        const bad: BadMessage[] = [];
        if (batch.topic === ctx.topics.movies) {
          for (const m of batch.messages) {
            const res = m.value ? applyMovie(recording, m.value) : { ok: false as const, reason: 'empty message value' };
            if (!res.ok) bad.push({ message: m, reason: res.reason });
          }
        } else applyMeanRatings(recording, batch.messages, (message, reason) => bad.push({ message, reason }));
        // Movie and mean-rating updates are idempotent (latest / highest count wins), so a replay after a
        // failed DLQ send changes nothing.
        await sendToDeadLetterQueue(ctx, publisher, batch, bad);
        recordOffset(batch.topic, batch.partition, batch.nextOffset);
      });
      if (changed.size) changes.publish([...changed]);
    },
  }).finally(() => api?.close());
  ctx.logger.info(`movie-data: ${result.rows} movies`, { result });
});
