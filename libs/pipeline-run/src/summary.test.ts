import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, readMovieData, topMovies } from './summary';

describe('summary', () => {
  it('reads movie-data.csv with quoted titles and empty means', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'sum-')), 'movie-data.csv');
    writeFileSync(f, 'movieId;title;genres;mean_rating;rating_count\n1;"A; ""B"", C";Drama|War;4.5;2\n2;Unrated;;;0\n');
    expect(readMovieData(f)).toEqual([
      { movieId: 1, title: 'A; "B", C', genres: 'Drama|War', mean: 4.5, count: 2 },
      { movieId: 2, title: 'Unrated', genres: '', mean: undefined, count: 0 },
    ]);
  });

  it('ranks by mean among movies with enough ratings', () => {
    const rows = [
      { movieId: 1, title: 'a', genres: '', mean: 5, count: 10 },
      { movieId: 2, title: 'b', genres: '', mean: 4, count: 60 },
      { movieId: 3, title: 'c', genres: '', mean: 4.5, count: 50 },
      { movieId: 4, title: 'd', genres: '', mean: 4.5, count: 70 },
    ];
    expect(topMovies(rows, 10, 50).map((r) => r.movieId)).toEqual([4, 3, 2]);
  });

  it('says how many instances a scaled run had, and nothing of instances otherwise', () => {
    const p = { file: 'f', rowsRead: 1, rowsAccepted: 1, rowsRejected: 0, rejectReasons: {}, published: 1, seconds: 1, complete: true };
    const base = { ratings: p, movies: p, movieData: [], elapsedSeconds: 1, outDir: '/o' };
    expect(formatSummary({ ...base, instances: { processors: 3, sinks: 2 } })).toContain(
      '  instances:       3 mean-rating-processor, 2 movie-data-sink (outputs merged from /o/instances)\n  output:',
    );
    expect(formatSummary(base)).not.toContain('instances');
  });
});
