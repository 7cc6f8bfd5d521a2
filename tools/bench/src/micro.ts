// npm run bench:micro — in-process figures for docs/PERFORMANCE.md round 3 (no Kafka):
// 1. the snapshot copy of a 60,000-row table: column slices (FrameTable.copyColumns) vs a walk over the
//    rows with the column getters (how the frame copied before);
// 2. the sink's cost per MeanRating applied to a FrameTable (write-through, frozen rows) vs to a plain Map;
// 3. (round 5) encoding and decoding a Rating and a MeanRating: protobuf-es reflection vs the hand-written
//    codecs of libs/schema (codec.ts), interleaved in one process.
import { FrameTable } from '@movie-stream/storable-frame';
import { MEAN_RATING_COLUMNS, MovieMean } from '@movie-stream/mean-rating';
import { applyMeanRating, applyMovie, MovieDataRow, MovieDataRows, MOVIE_DATA_COLUMNS } from '@movie-stream/movie-data';
import {
  create,
  decodeMeanRatingFields,
  decodeRatingFields,
  encodeMeanRatingFields,
  encodeRatingFields,
  fromBinary,
  toBinary,
  MeanRatingSchema,
  MovieSchema,
  RatingSchema,
} from '@movie-stream/schema';

function timings(reps: number, fn: () => void): { median: number; max: number } {
  const ms: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(reps / 2)], max: ms[reps - 1] };
}

const movies = 60_000;
const table = new FrameTable<number, MovieMean>(MEAN_RATING_COLUMNS);
for (let i = 1; i <= movies; i++) table.set(i, { movieId: i, sum: i * 3.5, count: i });
const rows = [...table.values()];
const slices = timings(50, () => table.copyColumns());
const walk = timings(50, () => {
  const cols = MEAN_RATING_COLUMNS.map(() => new Float64Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols.length; c++) {
      const v = MEAN_RATING_COLUMNS[c].get(rows[r]);
      cols[c][r] = v === undefined ? NaN : (v as number);
    }
  }
});
const f = (x: number) => x.toFixed(2);
console.log(
  `snapshot copy, ${movies} rows, 50 times: column slices median ${f(slices.median)} ms (max ${f(slices.max)}), row walk median ${f(walk.median)} ms (max ${f(walk.max)})`,
);

const sinkMovies = 20_000;
const updates = 400_000;
const movieMsgs = Array.from({ length: sinkMovies }, (_, i) =>
  Buffer.from(toBinary(MovieSchema, create(MovieSchema, { id: i + 1, title: `Movie ${i}`, genres: ['Drama'] }))),
);
const meanMsgs = Array.from({ length: updates }, (_, k) =>
  Buffer.from(
    toBinary(
      MeanRatingSchema,
      create(MeanRatingSchema, { movieId: (k % sinkMovies) + 1, sum: k, count: Math.floor(k / sinkMovies) + 1, mean: 3.5 }),
    ),
  ),
);
const perUpdate = (make: () => MovieDataRows) => {
  const best = timings(3, () => {
    const target = make();
    for (const m of movieMsgs) applyMovie(target, m);
    for (const v of meanMsgs) applyMeanRating(target, v);
  });
  return ((best.median * 1000) / (updates + sinkMovies)).toFixed(2);
};
console.log(
  `sink, per message applied (median of 3 × ${updates + sinkMovies}): Map ${perUpdate(() => new Map<number, MovieDataRow>())} µs, FrameTable ${perUpdate(() => new FrameTable<number, MovieDataRow>(MOVIE_DATA_COLUMNS))} µs`,
);

// 3. Codecs: every variant over the same 200,000 messages, alternated 5 times (a noisy machine moves both).
const n = 200_000;
const ratings = Array.from({ length: n }, (_, k) => ({
  userId: (k % 700) + 1,
  movieId: (k % 9000) + 1,
  value: ((k % 10) + 1) / 2,
  timestamp: 1_100_000_000 + k,
  sourceId: 0x9e3779b9,
  sourceRow: k + 1,
}));
const means = Array.from({ length: n }, (_, k) => ({
  movieId: (k % 9000) + 1,
  sum: k * 3.5,
  count: k + 1,
  mean: 3.5,
  sourcePartition: k % 6,
  sourceOffset: String(k * 7),
}));
const ratingBytes = ratings.map((r) => encodeRatingFields(r));
const meanBytes = means.map((m) => encodeMeanRatingFields(m));
const codecCases: Record<string, () => void> = {
  'Rating encode, reflection': () => {
    for (const r of ratings) Buffer.from(toBinary(RatingSchema, create(RatingSchema, { ...r, timestamp: BigInt(r.timestamp) })));
  },
  'Rating encode, codec': () => {
    for (const r of ratings) encodeRatingFields(r);
  },
  'Rating decode, reflection': () => {
    for (const b of ratingBytes) fromBinary(RatingSchema, b);
  },
  'Rating decode, codec': () => {
    for (const b of ratingBytes) decodeRatingFields(b);
  },
  'MeanRating encode, reflection': () => {
    for (const m of means) Buffer.from(toBinary(MeanRatingSchema, create(MeanRatingSchema, m)));
  },
  'MeanRating encode, codec': () => {
    for (const m of means) encodeMeanRatingFields(m);
  },
  'MeanRating decode, reflection': () => {
    for (const b of meanBytes) fromBinary(MeanRatingSchema, b);
  },
  'MeanRating decode, codec': () => {
    for (const b of meanBytes) decodeMeanRatingFields(b);
  },
};
const runs: Record<string, number[]> = Object.fromEntries(Object.keys(codecCases).map((k) => [k, []]));
for (let rep = 0; rep < 5; rep++)
  for (const [name, fn] of Object.entries(codecCases)) {
    const t0 = performance.now();
    fn();
    runs[name].push(((performance.now() - t0) * 1000) / n);
  }
for (const [name, us] of Object.entries(runs)) {
  us.sort((a, b) => a - b);
  console.log(`${name}: median ${us[2].toFixed(3)} µs per message (${n} messages, 5 alternated runs)`);
}
