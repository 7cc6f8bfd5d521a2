import { readFileSync } from 'node:fs';
import Papa from 'papaparse';

export interface MovieDataEntry {
  movieId: number;
  title: string;
  genres: string;
  mean?: number;
  count: number;
}

/** Reads movie-data.csv (`;`, header, RFC 4180 quoting). */
export function readMovieData(file: string): MovieDataEntry[] {
  const parsed = Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, delimiter: ';', skipEmptyLines: true });
  if (parsed.errors.length) throw new Error(`${file}: row ${parsed.errors[0].row}: ${parsed.errors[0].message}`);
  return parsed.data.map((r) => ({
    movieId: Number(r.movieId),
    title: r.title,
    genres: r.genres,
    mean: r.mean_rating === '' ? undefined : Number(r.mean_rating),
    count: Number(r.rating_count),
  }));
}

/** Best mean rating among movies with at least `minCount` ratings; ties by more ratings, then id. */
export function topMovies(rows: MovieDataEntry[], n = 10, minCount = 50): MovieDataEntry[] {
  return rows
    .filter((r) => r.count >= minCount && r.mean !== undefined)
    .sort((a, b) => (b.mean as number) - (a.mean as number) || b.count - a.count || a.movieId - b.movieId)
    .slice(0, n);
}

export interface ProducerSummary {
  file: string;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  rejectReasons: Record<string, number>;
  published: number;
  seconds: number;
  rejectedFile?: string;
  /** false when a signal stopped the producer before the end of its file. */
  complete: boolean;
}

export interface PipelineSummary {
  ratings: ProducerSummary;
  movies: ProducerSummary;
  movieData: MovieDataEntry[];
  elapsedSeconds: number;
  outDir: string;
  /** Instances each consumer ran with; present for a scaled run (outputs merged from the instances' states). */
  instances?: { processors: number; sinks: number };
  /** Database modes: host:port/db and which consumers kept their state there. */
  database?: { where: string; sink: boolean; processor: boolean };
}

export function formatSummary(s: PipelineSummary): string {
  const lines: string[] = [];
  const rated = s.movieData.filter((m) => m.count > 0).length;
  const reflected = s.movieData.reduce((sum, m) => sum + m.count, 0);
  const rejected = (p: ProducerSummary) => {
    const reasons = Object.entries(p.rejectReasons).map(([r, c]) => `      ${c} × ${r}`);
    return [`  rejected rows:   ${p.rowsRejected}${p.rejectedFile ? ` (see ${p.rejectedFile})` : ''}`, ...reasons];
  };
  lines.push('movie-stream pipeline summary');
  lines.push(`  ratings read:    ${s.ratings.rowsRead} from ${s.ratings.file}`);
  lines.push(`  ratings counted: ${reflected} (published ${s.ratings.published})`);
  lines.push(...rejected(s.ratings));
  lines.push(`  movies read:     ${s.movies.rowsRead} from ${s.movies.file}`);
  lines.push(...rejected(s.movies));
  lines.push(`  movies in table: ${s.movieData.length} (${rated} rated)`);
  lines.push(
    `  elapsed:         ${s.elapsedSeconds.toFixed(1)} s, ${Math.round(s.ratings.published / s.elapsedSeconds)} ratings/s end to end`,
  );
  if (s.instances) {
    const { processors, sinks } = s.instances;
    lines.push(
      `  instances:       ${processors} mean-rating-processor, ${sinks} movie-data-sink (outputs merged from ${s.outDir}/instances)`,
    );
  }
  const db = s.database;
  const outputs = [`${s.outDir}/movie-data.csv${db?.sink ? ` (written from movie_data in ${db.where})` : ''}`];
  if (!db?.processor) outputs.push(`${s.outDir}/mean-ratings.csv`);
  lines.push(`  output:          ${outputs.join(', ')}`);
  if (db) {
    const tables = [db.sink && 'movie_data', db.processor && 'movie_ratings_state'].filter(Boolean).join(', ');
    lines.push(`  PostgreSQL:      ${db.where} (${tables}; live API: GET /api/movies on the sink's HTTP port)`);
  }
  const top = topMovies(s.movieData);
  lines.push('');
  lines.push(`Top ${top.length} movies by mean rating (at least 50 ratings):`);
  top.forEach((m, i) =>
    lines.push(`  ${String(i + 1).padStart(2)}. ${m.mean?.toFixed(3)}  (${m.count} ratings)  ${m.title || `movie ${m.movieId}`}`),
  );
  if (top.length === 0) lines.push('  (no movie has 50 ratings yet)');
  return lines.join('\n');
}
