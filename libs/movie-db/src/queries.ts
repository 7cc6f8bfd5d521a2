import type { AsOf, MovieQueries, MovieView } from '@movie-stream/movie-api';
import type { Pool } from 'pg';

interface Row {
  movie_id: number;
  title: string | null;
  genres: string[] | null;
  mean: number | null;
  rating_count: string;
}

const COLUMNS = 'movie_id, title, genres, mean, rating_count';

/** The top query's filter and order (the movie_data_top index's), given its parameters' places. */
const topFilter = (minRatings: string, genre: string) =>
  `WHERE rating_count > 0 AND rating_count >= ${minRatings} AND (${genre}::text IS NULL OR genres @> ARRAY[${genre}::text])
   ORDER BY mean DESC, rating_count DESC, movie_id`;

const view = (r: Row): MovieView => ({
  movieId: r.movie_id,
  title: r.title,
  genres: r.genres,
  mean: r.mean,
  count: Number(r.rating_count),
});

export interface PgMovieQueriesOptions {
  /**
   * The sink's consumer group: answers then carry `asOf`, the group's offsets in consumer_offsets (stored by
   * applySinkBatch in each batch's transaction), read in the same statement as the rows. Absent: no asOf.
   */
  groupId?: string;
}

/** consumer_offsets rows of the group, as one JSON array of [topic, partition, next offset] (one value per answer). */
const OFFSETS = `(SELECT COALESCE(json_agg(json_build_array(topic, partition, next_offset::text)), '[]'::json)
                  FROM consumer_offsets WHERE group_id = $2) AS offsets`;

function asOfOf(offsets: [string, number, string][]): AsOf {
  const out: AsOf = {};
  for (const [topic, partition, next] of offsets) (out[String(partition)] ??= {})[topic] = next;
  return out;
}

/**
 * MovieQueries over movie_data (database mode). Each query is one statement, so it sees committed batches
 * only, whole. The order is compareTop's (mean, count, id); the top query walks the movie_data_top index.
 *
 * With `groupId`, the offsets come from the same statement, hence the same snapshot: the answer holds exactly
 * the batches up to them. The rows are joined to the one offsets row (LEFT JOIN LATERAL: the offsets come also
 * when no movie matches); the top query's subquery still walks movie_data_top. A movie needs only its own
 * partition's offsets, but the partition of a movie (Kafka's hash, the partition count) is not known in SQL,
 * so every partition of the group is given: a few rows of the primary key, as cheap as one.
 */
export function pgMovieQueries(pool: Pool, options: PgMovieQueriesOptions = {}): MovieQueries {
  const { groupId } = options;
  if (groupId === undefined)
    return {
      getMovie: async (movieId) => {
        const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM movie_data WHERE movie_id = $1`, [movieId]);
        return { movie: rows[0] ? view(rows[0]) : undefined };
      },
      topMovies: async ({ top, minRatings, genre }) => {
        const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM movie_data ${topFilter('$2', '$3')} LIMIT $1`, [
          top,
          minRatings,
          genre ?? null,
        ]);
        return { movies: rows.map(view) };
      },
    };
  type WithOffsets = Partial<Row> & { offsets: [string, number, string][] };
  return {
    getMovie: async (movieId) => {
      const { rows } = await pool.query<WithOffsets>(
        `SELECT m.*, ${OFFSETS} FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM movie_data WHERE movie_id = $1) m ON true`,
        [movieId, groupId],
      );
      const r = rows[0]!;
      return { movie: r.movie_id == null ? undefined : view(r as Row), asOf: asOfOf(r.offsets) };
    },
    topMovies: async ({ top, minRatings, genre }) => {
      // $2 is the group (OFFSETS).
      const { rows } = await pool.query<WithOffsets>(
        `SELECT m.*, ${OFFSETS} FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM movie_data ${topFilter('$3', '$4')} LIMIT $1) m ON true
         ORDER BY m.mean DESC, m.rating_count DESC, m.movie_id`,
        [top, groupId, minRatings, genre ?? null],
      );
      return { movies: rows.filter((r) => r.movie_id != null).map((r) => view(r as Row)), asOf: asOfOf(rows[0]!.offsets) };
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
