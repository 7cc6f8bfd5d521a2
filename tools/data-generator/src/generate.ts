import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import { quoteCsvField } from '@movie-stream/movielens-csv';

export interface GenerateOptions {
  /** Good rating rows to write. */
  ratings: number;
  /** Rows in movies.csv. */
  movies: number;
  /** Distinct users; default ~1 per 150 ratings (like ml-latest-small). */
  users?: number;
  seed?: number;
  outDir: string;
  /** Rated movieIds left out of movies.csv (each gets at least one rating); default 0. */
  unnamedRatedMovies?: number;
  /** Malformed rows mixed into ratings.csv at deterministic positions; default 0. */
  badRows?: number;
}

export interface GenerateResult {
  ratingsFile: string;
  moviesFile: string;
  /** Good rating rows written (bad rows excluded). */
  ratings: number;
  /** Rows in movies.csv. */
  movies: number;
  badRows: number;
  /** The rated movieIds that movies.csv lacks. */
  unnamedMovieIds: number[];
}

export const DEFAULT_SEED = 42;
export const RATINGS_HEADER = 'userId,movieId,rating,timestamp';
export const MOVIES_HEADER = 'movieId,title,genres';

/** mulberry32: tiny, fast, good enough for test data; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Movie id of the i-th movie (0-based): gaps of 3 after every 7 ids, like MovieLens' sparse ids. */
export function movieIdAt(i: number): number {
  return i + 1 + Math.floor(i / 7) * 3;
}

export const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Children',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'IMAX',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

const ADJECTIVES = [
  'Silent',
  'Last',
  'Dark',
  'Golden',
  'Broken',
  'Hidden',
  'Crimson',
  'Lonely',
  'Wild',
  'Electric',
  'Frozen',
  'Midnight',
  'Lost',
  'Brave',
  'Secret',
  'Eternal',
  'Little',
  'Great',
  'Burning',
  'Distant',
];
const NOUNS = [
  'River',
  'Empire',
  'Garden',
  'Stranger',
  'Horizon',
  'Kingdom',
  'Machine',
  'Summer',
  'Shadow',
  'Island',
  'Detective',
  'Letter',
  'Voyage',
  'Heart',
  'City',
  'Mountain',
  'Witness',
  'Dream',
  'Storm',
  'Highway',
];
// Titles exercising CSV quoting and UTF-8, as in the real files.
const SPECIAL_TITLES = [
  "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
  'Léon: The Professional (a.k.a. The Professional) (Léon)',
  'Crouching Tiger, Hidden Dragon (Wò hǔ cáng lóng)',
  'Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il)',
  '"Great Performances" Cats',
  'Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb',
  'City of God (Cidade de Deus)',
  'Spirited Away (Sen to Chihiro no kamikakushi)',
  'Das Boot, "The Boat"',
  'Zoë & Jürgen: Ça va, Señor?',
];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function movieTitle(rnd: () => number, i: number): string {
  const year = 1920 + Math.floor(rnd() * 97);
  let base: string;
  if (i % 11 === 5) base = pick(rnd, SPECIAL_TITLES);
  else {
    const a = pick(rnd, ADJECTIVES);
    const n = pick(rnd, NOUNS);
    const shape = Math.floor(rnd() * 5);
    if (shape === 0) base = `The ${a} ${n}`;
    else if (shape === 1) base = `${n} of the ${a} ${pick(rnd, NOUNS)}`;
    else if (shape === 2) base = `${a} ${n} ${2 + Math.floor(rnd() * 4)}`;
    // MovieLens moves leading articles to the end: "Godfather, The".
    else if (shape === 3) base = `${a} ${n}, The`;
    else base = `${n}`;
  }
  return `${base} (${year})`;
}

function movieGenres(rnd: () => number): string {
  if (rnd() < 0.02) return '(no genres listed)';
  const k = 1 + Math.floor(rnd() * 3);
  const chosen = new Set<string>();
  while (chosen.size < k) chosen.add(pick(rnd, GENRES));
  return [...chosen].join('|');
}

/** Buffers text and writes it in large pieces, waiting for 'drain' so memory stays flat. */
class BufferedWriter {
  private buf = '';
  constructor(private readonly out: WriteStream) {}
  /** Appends text; true when the caller should `await flush()` (kept sync: one await per row is slow). */
  add(s: string): boolean {
    this.buf += s;
    return this.buf.length >= 64 * 1024;
  }
  async flush(): Promise<void> {
    if (!this.buf) return;
    const ok = this.out.write(this.buf);
    this.buf = '';
    if (!ok) await once(this.out, 'drain');
  }
  async end(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.out, 'finish');
  }
}

function openWriter(file: string): BufferedWriter {
  const out = createWriteStream(file);
  // Surfaced by once() in flush/end; keep it from crashing the process as unhandled.
  out.on('error', () => undefined);
  return new BufferedWriter(out);
}

const BAD_ROWS = [
  (u: number, m: number) => `${u},${m},3.0\n`, // wrong field count
  (u: number) => `${u},abc,4.0,1000000000\n`, // non-numeric movieId
  (u: number, m: number) => `${u},${m},7,1000000000\n`, // rating out of range
  () => '\n', // empty line
];

const T_START = Date.UTC(1996, 0, 1) / 1000;
const T_END = Date.UTC(2016, 11, 31, 23, 59, 59) / 1000;

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
}

/**
 * Writes MovieLens-format ratings.csv and movies.csv into outDir. Same options and seed give the
 * same bytes. Popularity is Zipf-like (s = 1) over a shuffled movie order; each movie has a
 * rating bias; timestamps rise through 1996-2016 with a little jitter. (userId, movieId) pairs may
 * repeat: tracking them would cost memory proportional to the output.
 */
export async function generateDataset(opts: GenerateOptions): Promise<GenerateResult> {
  const nRatings = opts.ratings;
  const nMovies = opts.movies;
  const seed = opts.seed ?? DEFAULT_SEED;
  const unnamed = opts.unnamedRatedMovies ?? 0;
  const bad = opts.badRows ?? 0;
  const nUsers = opts.users ?? Math.max(1, Math.round(nRatings / 150));
  checkCount('ratings', nRatings, 0);
  checkCount('movies', nMovies, 0);
  checkCount('users', nUsers, 1);
  checkCount('unnamedRatedMovies', unnamed, 0);
  checkCount('badRows', bad, 0);
  checkCount('seed', seed, 0);
  const nAll = nMovies + unnamed;
  if (nRatings > 0 && nAll === 0) throw new Error('ratings need at least one movie');
  if (unnamed > nRatings) throw new Error(`unnamedRatedMovies (${unnamed}) needs at least as many ratings`);

  mkdirSync(opts.outDir, { recursive: true });
  const ratingsFile = path.join(opts.outDir, 'ratings.csv');
  const moviesFile = path.join(opts.outDir, 'movies.csv');

  // Unnamed movies are spread evenly over the id range.
  const isUnnamed = new Uint8Array(nAll);
  const unnamedIdx: number[] = [];
  for (let j = 0; j < unnamed; j++) {
    const idx = Math.floor(((j + 0.5) * nAll) / unnamed);
    isUnnamed[idx] = 1;
    unnamedIdx.push(idx);
  }

  // movies.csv, from its own PRNG stream so it does not depend on the rating count.
  const movieRnd = mulberry32(seed ^ 0x5bd1e995);
  const bias = new Float64Array(nAll);
  const movies = openWriter(moviesFile);
  movies.add(`${MOVIES_HEADER}\n`);
  for (let i = 0; i < nAll; i++) {
    bias[i] = (movieRnd() + movieRnd() - 1) * 1.2;
    const title = movieTitle(movieRnd, i);
    const genres = movieGenres(movieRnd);
    if (!isUnnamed[i] && movies.add(`${movieIdAt(i)},${quoteCsvField(title, ',')},${genres}\n`)) await movies.flush();
  }
  await movies.end();

  // Popularity: rank r has weight 1/(r+1); ranks map to movies through a seeded shuffle.
  const rnd = mulberry32(seed ^ 0x9e3779b9);
  const order = new Uint32Array(nAll);
  for (let i = 0; i < nAll; i++) order[i] = i;
  for (let i = nAll - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const cdf = new Float64Array(nAll);
  let total = 0;
  for (let r = 0; r < nAll; r++) cdf[r] = total += 1 / (r + 1);
  const drawMovie = (): number => {
    const x = rnd() * total;
    let lo = 0;
    let hi = nAll - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return order[lo]!;
  };

  // Each unnamed movie is forced onto one evenly spaced rating so it is surely rated.
  const forcedAt = new Map<number, number>();
  unnamedIdx.forEach((idx, j) => forcedAt.set(Math.floor(((j + 0.5) * nRatings) / unnamed), idx));
  let nextBad = 0;
  const badAt = (k: number): number => Math.floor(((k + 0.5) * nRatings) / bad);

  const ratings = openWriter(ratingsFile);
  ratings.add(`${RATINGS_HEADER}\n`);
  const span = T_END - T_START;
  for (let i = 0; i < nRatings; i++) {
    const userId = 1 + Math.floor(rnd() * nUsers);
    const m = forcedAt.get(i) ?? drawMovie();
    while (nextBad < bad && badAt(nextBad) <= i) {
      if (ratings.add(BAD_ROWS[nextBad % BAD_ROWS.length]!(userId, movieIdAt(m)))) await ratings.flush();
      nextBad++;
    }
    const noise = (rnd() + rnd() + rnd() - 1.5) * 1.6;
    const halfSteps = Math.min(10, Math.max(1, Math.round((3.5 + bias[m]! + noise) * 2)));
    const jitter = Math.floor((rnd() - 0.5) * 86400 * 3);
    const ts = Math.min(T_END, Math.max(T_START, T_START + Math.floor((i / Math.max(1, nRatings)) * span) + jitter));
    if (ratings.add(`${userId},${movieIdAt(m)},${(halfSteps / 2).toFixed(1)},${ts}\n`)) await ratings.flush();
  }
  // With no ratings to interleave with, bad rows go at the end.
  for (; nextBad < bad; nextBad++) {
    if (ratings.add(BAD_ROWS[nextBad % BAD_ROWS.length]!(1, 1))) await ratings.flush();
  }
  await ratings.end();

  return {
    ratingsFile,
    moviesFile,
    ratings: nRatings,
    movies: nMovies,
    badRows: bad,
    unnamedMovieIds: unnamedIdx.map(movieIdAt),
  };
}
