// movie-data-sink (the seed's "moviedatasink"): movies + mean-ratings → movie-data.csv.
import { applyMeanRating, applyMovie, movieDataFromRecord, MovieDataRow, MOVIE_DATA_COLUMNS } from '@movie-stream/movie-data';
import {
  BadMessage,
  runService,
  runStatefulConsumer,
  sendToDeadLetterQueue,
  STATEFUL_CONSUMER_OPTIONS,
} from '@movie-stream/service-runtime';

runService('movie-data-sink', STATEFUL_CONSUMER_OPTIONS, async (ctx) => {
  const result = await runStatefulConsumer<number, MovieDataRow>({
    ctx,
    name: 'movie-data',
    columns: MOVIE_DATA_COLUMNS,
    fromRecord: movieDataFromRecord,
    // Co-partitioned: the instance owning partition p holds a movie's title and its mean.
    topics: [ctx.topics.movies, ctx.topics.meanRatings],
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
