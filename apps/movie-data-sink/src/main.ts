// movie-data-sink (the seed's "moviedatasink"): movies + mean-ratings → movie-data.csv.
import { applyMeanRating, applyMovie, movieDataFromRecord, MovieDataRow, MOVIE_DATA_COLUMNS } from '@movie-stream/movie-data';
import { reportBadMessage, runService, runStatefulConsumer } from '@movie-stream/service-runtime';

const OPTIONS = ['outDir', 'stateDir', 'snapshotIntervalMs', 'groupId', 'sessionTimeoutMs', 'acks', 'compression'] as const;

runService('movie-data-sink', OPTIONS, async (ctx) => {
  const result = await runStatefulConsumer<number, MovieDataRow>({
    ctx,
    name: 'movie-data',
    columns: MOVIE_DATA_COLUMNS,
    fromRecord: movieDataFromRecord,
    topics: [ctx.topics.movies, ctx.topics.meanRatings],
    handle: async (batch, frame) => {
      const apply = batch.topic === ctx.topics.movies ? applyMovie : applyMeanRating;
      await frame.update((rows, commitOffset) => {
        for (const m of batch.messages) {
          const res = m.value ? apply(rows, m.value) : { ok: false as const, reason: 'empty message value' };
          if (!res.ok) reportBadMessage(ctx, batch.topic, batch.partition, m, res.reason);
        }
        commitOffset(batch.topic, batch.partition, batch.nextOffset);
      });
    },
  });
  ctx.logger.info(`movie-data: ${result.rows} movies`, { result });
});
