// mean-rating-processor (the seed's "meanratingproducer"): ratings → sum/count per movie → mean-ratings.
import {
  aggregate,
  decodeMeanChangelog,
  decodeRatings,
  encodeMeanRating,
  meanFromRecord,
  MovieMean,
  MEAN_RATING_COLUMNS,
} from '@movie-stream/mean-rating';
import {
  BadMessage,
  runService,
  runStatefulConsumer,
  sendToDeadLetterQueue,
  STATEFUL_CONSUMER_OPTIONS,
} from '@movie-stream/service-runtime';

runService('mean-rating-processor', STATEFUL_CONSUMER_OPTIONS, async (ctx) => {
  const result = await runStatefulConsumer<number, MovieMean>({
    ctx,
    name: 'mean-ratings',
    columns: MEAN_RATING_COLUMNS,
    fromRecord: meanFromRecord,
    topics: [ctx.topics.ratings],
    // Partition p of ratings is written to partition p of mean-ratings, which is also its changelog.
    coPartitionedWith: [ctx.topics.meanRatings],
    changelog: { topic: ctx.topics.meanRatings, decode: decodeMeanChangelog },
    handle: async (batch, frame, publisher, state) => {
      const bad: BadMessage[] = [];
      const ratings = decodeRatings(batch.messages, (message, reason) => bad.push({ message, reason }));
      const source = { partition: batch.partition, offset: batch.nextOffset };
      await frame.update(async (rows, recordOffset) => {
        const updated = aggregate(rows, ratings);
        // Publish before applying: if a publish fails (or is fenced), neither state nor offset has moved.
        await sendToDeadLetterQueue(ctx, publisher, batch, bad);
        if (updated.length) {
          const next = await state
            .writer(batch.partition)
            .send(
              ctx.topics.meanRatings,
              batch.partition,
              updated.map((m) => ({ key: String(m.movieId), value: encodeMeanRating(m, source) })),
            );
          recordOffset(ctx.topics.meanRatings, batch.partition, next);
        }
        for (const m of updated) rows.set(m.movieId, m);
        recordOffset(batch.topic, batch.partition, batch.nextOffset);
      });
    },
  });
  ctx.logger.info(`mean-ratings: ${result.rows} movies`, { result });
});
