import type { MovieQueries, MovieView } from '@movie-stream/movie-api';
import type { Pool } from 'pg';

interface Row {
  movie_id: number;
  title: string | null;
  genres: string[] | null;
  mean: number | null;
  rating_count: string;
}

const COLUMNS = 'movie_id, title, genres, mean, rating_count';

const view = (r: Row): MovieView => ({
  movieId: r.movie_id,
  title: r.title,
  genres: r.genres,
  mean: r.mean,
  count: Number(r.rating_count),
});

/**
 * MovieQueries over movie_data (database mode). Each query is one statement, so it sees committed batches
 * only, whole. The order is compareTop's (mean, count, id); the top query walks the movie_data_top index.
 */
export function pgMovieQueries(pool: Pool): MovieQueries {
  return {
    getMovie: async (movieId) => {
      const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM movie_data WHERE movie_id = $1`, [movieId]);
      return rows[0] ? view(rows[0]) : undefined;
    },
    topMovies: async ({ top, minRatings, genre }) => {
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM movie_data
         WHERE rating_count > 0 AND rating_count >= $2 AND ($3::text IS NULL OR genres @> ARRAY[$3::text])
         ORDER BY mean DESC, rating_count DESC, movie_id
         LIMIT $1`,
        [top, minRatings, genre ?? null],
      );
      return rows.map(view);
    },
  };
}

/** One movie_data row as movie-data.csv has it (genres "|"-joined, "(no genres listed)" for none, "" while unnamed). */
export interface MovieDataExport {
  movieId: number;
  title: string;
  genres: string;
  mean?: number;
  count: number;
}

/** The whole movie_data table, by movie id, in movie-data.csv's terms (the runner writes the file from it). */
export async function readMovieDataTable(pool: Pool): Promise<MovieDataExport[]> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM movie_data ORDER BY movie_id`);
  return rows.map((r) => ({
    movieId: r.movie_id,
    title: r.title ?? '',
    genres: r.genres === null ? '' : r.genres.length === 0 ? '(no genres listed)' : r.genres.join('|'),
    ...(r.mean !== null ? { mean: r.mean } : {}),
    count: Number(r.rating_count),
  }));
}
