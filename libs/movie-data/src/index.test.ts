import { create, toBinary, MeanRatingSchema, MovieSchema } from '@movie-stream/schema';
import { applyMeanRating, applyMovie, movieDataFromRecord, MovieDataRow, MOVIE_DATA_COLUMNS } from './index';

const movie = (id: number, title: string, genres: string[]) => Buffer.from(toBinary(MovieSchema, create(MovieSchema, { id, title, genres })));
const mean = (movieId: number, sum: number, count: number) =>
  Buffer.from(toBinary(MeanRatingSchema, create(MeanRatingSchema, { movieId, sum, count, mean: sum / count })));

describe('movie-data join', () => {
  it('joins movies and mean ratings in either order', () => {
    const rows = new Map<number, MovieDataRow>();
    applyMeanRating(rows, mean(1, 9, 2));
    applyMovie(rows, movie(1, 'Amélie (2001)', ['Comedy', 'Romance']));
    applyMovie(rows, movie(2, 'Unrated, "The" (1999)', []));
    expect(rows.get(1)).toEqual({ movieId: 1, title: 'Amélie (2001)', genres: 'Comedy|Romance', count: 2, mean: 4.5 });
    expect(rows.get(2)).toEqual({ movieId: 2, title: 'Unrated, "The" (1999)', genres: '', count: 0 });
  });

  it('keeps the update with the highest count: replays and reordering change nothing', () => {
    const rows = new Map<number, MovieDataRow>();
    applyMeanRating(rows, mean(7, 10, 3));
    applyMeanRating(rows, mean(7, 4, 1)); // older, e.g. replayed after a processor crash
    applyMeanRating(rows, mean(7, 10, 3));
    expect(rows.get(7)).toMatchObject({ count: 3, mean: 10 / 3 });
    applyMeanRating(rows, mean(7, 14, 4));
    expect(rows.get(7)).toMatchObject({ count: 4, mean: 3.5 });
  });

  it('reports undecodable values instead of throwing', () => {
    const rows = new Map<number, MovieDataRow>();
    expect(applyMovie(rows, Buffer.from([0xff, 0x01]))).toMatchObject({ ok: false });
    expect(applyMeanRating(rows, mean(0, 1, 1))).toEqual({ ok: false, reason: 'movie_id 0 is not positive' });
    expect(rows.size).toBe(0);
  });

  it('writes an empty mean for unrated movies and restores it', () => {
    const r: MovieDataRow = { movieId: 2, title: 't', genres: '', count: 0 };
    expect(MOVIE_DATA_COLUMNS.map((c) => c.get(r))).toEqual([2, 't', '', undefined, 0]);
    expect(movieDataFromRecord({ movieId: '2', title: 't', genres: '', mean_rating: '', rating_count: '0' })).toEqual([2, r]);
  });
});
