import type { MovieRow, RatingRow } from './types';

export const RATINGS_HEADER: readonly string[] = ['userId', 'movieId', 'rating', 'timestamp'];
export const MOVIES_HEADER: readonly string[] = ['movieId', 'title', 'genres'];
export const NO_GENRES = '(no genres listed)';

// Longest digit string that is always a safe integer (Number.MAX_SAFE_INTEGER has 16 digits).
const MAX_SAFE_DIGITS = 15;
/**
 * Largest id the messages can carry: Rating.user_id, Rating.movie_id, Movie.id and MeanRating.movie_id
 * are int32 in proto/movielens/v1, and the encoder throws on anything larger.
 */
export const MAX_ID = 2 ** 31 - 1;

/** Shows a field value in a reason; long values (e.g. a runaway quoted field) are cut short. */
export function show(value: string): string {
  const v = value.length > 40 ? `${value.slice(0, 37)}...` : value;
  return `"${v}"`;
}

/**
 * Digits-only integer parse without a regex or Number() (hot path); -1 if not all digits,
 * empty, or too long to be safe.
 */
function parseDigits(s: string): number {
  const n = s.length;
  if (n === 0 || n > MAX_SAFE_DIGITS) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Validates an id field: a reason naming the field, or the id. Digits only, 1 to MAX_ID; leading zeros
 * are allowed (`007` is 7).
 */
function parseId(name: string, s: string): number | string {
  const n = s.length;
  if (n === 0) return `${name} ${show(s)} is not a positive integer`;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return `${name} ${show(s)} is not a positive integer`;
    // Stays exact: v <= MAX_ID here, so v * 10 + 9 is far below 2^53.
    if (v <= MAX_ID) v = v * 10 + d;
  }
  if (v === 0) return `${name} ${show(s)} is not a positive integer`;
  if (v > MAX_ID) return `${name} ${show(s)} is above ${MAX_ID}, the largest id the messages carry (int32)`;
  return v;
}

/** Returns the rating value, or NaN if `s` is not of the form digits[.digits]. */
function parseDecimal(s: string): number {
  const n = s.length;
  if (n === 0 || n > 20) return NaN;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (dot !== -1 || i === 0 || i === n - 1) return NaN;
      dot = i;
    } else if (c < 48 || c > 57) return NaN;
  }
  // Common MovieLens shape "d.d": avoid Number() string parsing.
  if (n === 3 && dot === 1) return s.charCodeAt(0) - 48 + (s.charCodeAt(2) - 48) / 10;
  return Number(s);
}

/** Validates the fields of one ratings.csv row; returns the row or a short reason naming the field. */
export function parseRatingFields(fields: string[]): RatingRow | string {
  if (fields.length !== 4) return `expected 4 fields, got ${fields.length}`;
  const u = fields[0]!;
  const m = fields[1]!;
  const r = fields[2]!;
  const t = fields[3]!;
  const userId = parseId('userId', u);
  if (typeof userId === 'string') return userId;
  const movieId = parseId('movieId', m);
  if (typeof movieId === 'string') return movieId;
  const rating = parseDecimal(r);
  if (rating !== rating) return `rating ${show(r)} is not a number`;
  if (rating < 0.5 || rating > 5) return `rating ${show(r)} outside 0.5-5.0`;
  if (rating * 2 !== Math.floor(rating * 2)) return `rating ${show(r)} is not a multiple of 0.5`;
  const timestamp = parseDigits(t);
  if (timestamp < 0) return `timestamp ${show(t)} is not a non-negative integer`;
  return { userId, movieId, rating, timestamp };
}

/** Validates the fields of one movies.csv row; returns the row or a short reason naming the field. */
export function parseMovieFields(fields: string[]): MovieRow | string {
  if (fields.length !== 3) return `expected 3 fields, got ${fields.length}`;
  const m = fields[0]!;
  const title = fields[1]!;
  const g = fields[2]!;
  const movieId = parseId('movieId', m);
  if (typeof movieId === 'string') return movieId;
  if (title.length === 0) return 'title is empty';
  if (title.trim().length === 0) return 'title is blank';
  if (g === NO_GENRES) return { movieId, title, genres: [] };
  if (g.length === 0) return 'genres is empty';
  const genres = g.split('|');
  for (const genre of genres) {
    if (genre.length === 0) return `genres ${show(g)} has an empty genre`;
    if (genre === NO_GENRES) return `genres ${show(g)} mixes ${NO_GENRES} with other genres`;
  }
  return { movieId, title, genres };
}

/**
 * Groups a reason for ReadStats.rejectReasons: the quoted value is dropped so that
 * e.g. every out-of-range rating lands in one bucket ("rating outside 0.5-5.0"). Reasons hold at
 * most one quoted value (see show()), so first-to-last quote is that value.
 */
export function reasonKey(reason: string): string {
  const open = reason.indexOf('"');
  if (open === -1) return reason;
  const close = reason.lastIndexOf('"');
  if (close <= open) return reason;
  return (reason.slice(0, open) + reason.slice(close + 1).replace(/^ /, '')).replace(/ +$/, '');
}
