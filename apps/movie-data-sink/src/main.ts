// movie-data-sink (the seed's "moviedatasink"): movies + mean-ratings → movie-data.csv (--sink csv) or the
// movie_data table in PostgreSQL (--sink postgres); serves the live JSON API (/api/movies) from either.
import { lockedMovieQueries, withMovieApi } from '@movie-stream/movie-api';
import { applySinkBatch, pgMovieQueries } from '@movie-stream/movie-db';
import {
  applyMeanRating,
  applyMovie,
  decodeMeans,
  decodeMovies,
  movieDataFromRecord,
  MovieDataRow,
  MOVIE_DATA_COLUMNS,
} from '@movie-stream/movie-data';
import {
  BadMessage,
  DATABASE_CONSUMER_OPTIONS,
  modeOf,
  runDatabaseConsumer,
  runService,
  runStatefulConsumer,
  sendToDeadLetterQueue,
} from '@movie-stream/service-runtime';

runService('movie-data-sink', [...DATABASE_CONSUMER_OPTIONS, 'sinkStore'], async (ctx) => {
  const store = modeOf(ctx.config.sinkStore, 'SINK_STORE (--sink)', ['csv', 'postgres'] as const);
  // Co-partitioned: the instance owning partition p holds a movie's title and its mean.
  const topics = [ctx.topics.movies, ctx.topics.meanRatings];
  if (store === 'postgres') {
    const result = await runDatabaseConsumer({
      ctx,
      topics,
      ready: (db) => ctx.mountRoutes(withMovieApi(pgMovieQueries(db), { routes: {} })),
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
    });
    ctx.logger.info('movie_data: stopped', { result });
    return;
  }
  const result = await runStatefulConsumer<number, MovieDataRow>({
    ctx,
    name: 'movie-data',
    columns: MOVIE_DATA_COLUMNS,
    fromRecord: movieDataFromRecord,
    topics,
    ready: (frame) =>
      ctx.mountRoutes(
        withMovieApi(
          lockedMovieQueries((fn) => frame.read(fn)),
          { routes: {} },
        ),
      ),
    handle: async (batch, frame, publisher) => {
      const apply = batch.topic === ctx.topics.movies ? applyMovie : applyMeanRating;
      await frame.update(async (rows, recordOffset) => {
        const bad: BadMessage[] = [];
        for (const m of batch.messages) {
          const res = m.value ? apply(rows, m.value) : { ok: false as const, reason: 'empty message value' };
          if (!res.ok) bad.push({ message: m, reason: res.reason });
        }
        // Movie and mean-rating updates are idempotent (latest / highest count wins), so a replay after a
        // failed DLQ send changes nothing.
        await sendToDeadLetterQueue(ctx, publisher, batch, bad);
        recordOffset(batch.topic, batch.partition, batch.nextOffset);
      });
    },
  });
  ctx.logger.info(`movie-data: ${result.rows} movies`, { result });
});
