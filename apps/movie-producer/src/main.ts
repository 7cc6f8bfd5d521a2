// movie-producer (the seed's "moviedataproducer"): movies.csv → topic `movies`, key = movieId.
import { readMovies, MovieRow } from '@movie-stream/movielens-csv';
import { encodeMovie } from '@movie-stream/schema';
import { CSV_PRODUCER_OPTIONS, publishCsv, runService } from '@movie-stream/service-runtime';

runService('movie-producer', ['moviesFile', ...CSV_PRODUCER_OPTIONS], async (ctx) => {
  const summary = await publishCsv<MovieRow>({
    ctx,
    file: ctx.config.moviesFile,
    topic: ctx.topics.movies,
    read: readMovies,
    toMessage: (m) => ({ key: String(m.movieId), value: encodeMovie(m) }),
  });
  ctx.logger.info(`published ${summary.published} movies, rejected ${summary.rowsRejected}`, { summary });
  process.stdout.write(JSON.stringify({ summary }) + '\n');
});
