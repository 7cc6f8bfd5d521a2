// rating-producer (the seed's "ratingproducer"): ratings.csv → topic `ratings`, key = movieId.
import { readRatings, RatingRow } from '@movie-stream/movielens-csv';
import { decodeRatingRecord, encodeRating } from '@movie-stream/schema';
import { CSV_PRODUCER_OPTIONS, publishCsv, runService } from '@movie-stream/service-runtime';

runService('rating-producer', ['ratingsFile', 'sourceId', ...CSV_PRODUCER_OPTIONS], async (ctx) => {
  const summary = await publishCsv<RatingRow>({
    ctx,
    file: ctx.config.ratingsFile,
    topic: ctx.topics.ratings,
    read: readRatings,
    // Keyed by movie: all ratings of a movie land on one partition, so one processor owns its sum. Each rating
    // carries its source and row: a re-run after a crash skips what the topic already holds.
    toMessage: (r, position) => ({ key: String(r.movieId), value: encodeRating(r, position) }),
    resume: { sourceName: ctx.config.sourceId, positionOf: decodeRatingRecord },
  });
  const skipped = summary.alreadyPublished > 0 ? ` (${summary.alreadyPublished} already on the topic from an interrupted run)` : '';
  ctx.logger.info(`published ${summary.published} ratings${skipped}, rejected ${summary.rowsRejected}`, { summary });
  process.stdout.write(JSON.stringify({ summary }) + '\n');
});
