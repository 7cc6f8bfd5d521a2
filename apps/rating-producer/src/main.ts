// rating-producer (the seed's "ratingproducer"): ratings.csv → topic `ratings`, key = movieId.
import { readRatings, RatingRow } from '@movie-stream/movielens-csv';
import { encodeRating } from '@movie-stream/mean-rating';
import { CSV_PRODUCER_OPTIONS, publishCsv, runService } from '@movie-stream/service-runtime';

runService('rating-producer', ['ratingsFile', ...CSV_PRODUCER_OPTIONS], async (ctx) => {
  const summary = await publishCsv<RatingRow>({
    ctx,
    file: ctx.config.ratingsFile,
    topic: ctx.topics.ratings,
    read: readRatings,
    // Keyed by movie: all ratings of a movie land on one partition, so one processor owns its sum.
    toMessage: (r) => ({ key: String(r.movieId), value: encodeRating(r) }),
  });
  ctx.logger.info(`published ${summary.published} ratings, rejected ${summary.rowsRejected}`, { summary });
  process.stdout.write(JSON.stringify({ summary }) + '\n');
});
