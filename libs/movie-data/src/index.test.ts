import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Papa from 'papaparse';
import { readMovies } from '@movie-stream/movielens-csv';
import { create, toBinary, MeanRatingSchema, MovieSchema } from '@movie-stream/schema';
import { FrameTable, serializeTable } from '@movie-stream/storable-frame';
import fc from 'fast-check';
import {
  applyMeanRating,
  applyMeanRatings,
  applyMovie,
  decodeMeans,
  decodeMovies,
  movieDataFromRecord,
  MovieDataRow,
  MOVIE_DATA_COLUMNS,
} from './index';

const movie = (id: number, title: string, genres: string[]) =>
  Buffer.from(toBinary(MovieSchema, create(MovieSchema, { id, title, genres })));
const mean = (movieId: number, sum: number, count: number) =>
  Buffer.from(toBinary(MeanRatingSchema, create(MeanRatingSchema, { movieId, sum, count, mean: sum / count })));

describe('movie-data join', () => {
  it('joins movies and mean ratings in either order', () => {
    const rows = new Map<number, MovieDataRow>();
    applyMeanRating(rows, mean(1, 9, 2));
    applyMovie(rows, movie(1, 'Amélie (2001)', ['Comedy', 'Romance']));
    applyMovie(rows, movie(2, 'Unrated, "The" (1999)', []));
    expect(rows.get(1)).toEqual({ movieId: 1, title: 'Amélie (2001)', genres: 'Comedy|Romance', count: 2, mean: 4.5 });
    // An empty genre list is movies.csv's "(no genres listed)": the output says it again.
    expect(rows.get(2)).toEqual({ movieId: 2, title: 'Unrated, "The" (1999)', genres: '(no genres listed)', count: 0 });
    // A rated movie that movies.csv does not name has no genres at all.
    applyMeanRating(rows, mean(3, 4, 1));
    expect(rows.get(3)).toEqual({ movieId: 3, title: '', genres: '', count: 1, mean: 4 });
  });

  it('keeps "(no genres listed)" from movies.csv to the movie-data.csv row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'movie-data-'));
    try {
      const file = path.join(dir, 'movies.csv');
      writeFileSync(file, 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,"Pirates, The (2016)",(no genres listed)\n');
      const table = new FrameTable<number, MovieDataRow>(MOVIE_DATA_COLUMNS);
      // The message exactly as movie-producer builds it from a row.
      for await (const batch of readMovies(file).batches) {
        for (const m of batch) {
          const value = Buffer.from(toBinary(MovieSchema, create(MovieSchema, { id: m.movieId, title: m.title, genres: m.genres })));
          expect(applyMovie(table, value)).toEqual({ ok: true });
        }
      }
      applyMeanRating(table, mean(2, 7, 2));
      // movie-data.csv's text as the sink's snapshot writes it, read back.
      const out = Papa.parse<Record<string, string>>(serializeTable(table.copyColumns()), {
        header: true,
        delimiter: ';',
        skipEmptyLines: true,
      });
      expect(out.errors).toEqual([]);
      expect(out.data).toEqual([
        { movieId: '1', title: 'Toy Story (1995)', genres: 'Adventure|Animation', mean_rating: '', rating_count: '0' },
        { movieId: '2', title: 'Pirates, The (2016)', genres: '(no genres listed)', mean_rating: '3.5', rating_count: '2' },
      ]);
      // ...and survives a restart from that snapshot.
      expect(movieDataFromRecord(out.data[1]!)[1].genres).toBe('(no genres listed)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

  it('applies a batch of mean ratings as one by one, each movie set once, the bad ones reported alike', () => {
    const message = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 6 })) },
      { weight: 1, arbitrary: fc.constantFrom('empty', 'garbage', 'movie0') },
    );
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }))),
        (spec, initial) => {
          const messages = spec.map((m, i) => ({
            offset: String(i),
            value:
              m === 'empty'
                ? null
                : m === 'garbage'
                  ? Buffer.from([0xff, 0x01])
                  : m === 'movie0'
                    ? mean(0, 1, 1)
                    : // A sum and count per message: a different mean for the same count shows which one was kept.
                      mean(m[0], m[1] + i / 100, m[2]),
          }));
          const start = () =>
            new Map(
              initial.map(([id, count]): [number, MovieDataRow] => [id, { movieId: id, title: `m${id}`, genres: '', count, mean: 1 }]),
            );
          const one = start();
          const oneBad: string[] = [];
          for (const m of messages) {
            const res = m.value ? applyMeanRating(one, m.value) : { ok: false as const, reason: 'empty message value' };
            if (!res.ok) oneBad.push(`${m.offset}: ${res.reason}`);
          }
          // The same messages as records that hand their value where it lies (in one buffer), as the seam's do.
          const all = Buffer.concat(messages.map((m) => m.value ?? Buffer.alloc(0)));
          let at = 0;
          const inPlace = messages.map((m) => {
            const from = at;
            at += m.value?.length ?? 0;
            return {
              ...m,
              readValue: <T>(read: (bytes: Uint8Array | null, start: number, end: number) => T): T =>
                m.value ? read(all, from, from + m.value.length) : read(null, 0, 0),
            };
          });
          for (const batchMessages of [messages, inPlace]) {
            const batch = start();
            const sets: number[] = [];
            const counted = {
              get: (id: number) => batch.get(id),
              set: (id: number, row: MovieDataRow) => (sets.push(id), batch.set(id, row)),
            };
            const batchBad: string[] = [];
            applyMeanRatings(counted, batchMessages, (m, reason) => batchBad.push(`${m.offset}: ${reason}`));
            expect(batch).toEqual(one);
            expect(batchBad).toEqual(oneBad);
            expect(new Set(sets).size).toBe(sets.length);
          }
        },
      ),
      { numRuns: 500 },
    );
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

describe('decoding batches for the database sink', () => {
  it('decodes movies and means, and reports each unusable message with its reason', () => {
    const bad: [string, string][] = [];
    const msgs = [
      { value: movie(1, 'Amélie (2001)', ['Comedy', 'Romance']), offset: '0' },
      { value: movie(2, 'Unrated', []), offset: '1' },
      { value: null, offset: '2' },
      { value: movie(0, 'zero', []), offset: '3' },
      { value: Buffer.from([0xff, 0xff]), offset: '4' },
    ];
    expect(decodeMovies(msgs, (m, reason) => bad.push([m.offset, reason]))).toEqual([
      { movieId: 1, title: 'Amélie (2001)', genres: ['Comedy', 'Romance'] },
      { movieId: 2, title: 'Unrated', genres: [] },
    ]);
    expect(bad.map(([o]) => o)).toEqual(['2', '3', '4']);
    expect(bad[0]![1]).toBe('empty message value');
    expect(bad[1]![1]).toBe('movie id 0 is not positive');
    expect(bad[2]![1]).toMatch(/^not a Movie: /);

    bad.length = 0;
    const means = [
      { value: mean(1, 9, 2), offset: '7' },
      { value: mean(3, 4, 0), offset: '8' },
      { value: mean(-1, 4, 1), offset: '9' },
    ];
    expect(decodeMeans(means, (m, reason) => bad.push([m.offset, reason]))).toEqual([{ movieId: 1, sum: 9, count: 2 }]);
    expect(bad).toEqual([
      ['8', 'count 0 is not positive'],
      ['9', 'movie_id -1 is not positive'],
    ]);
  });
});
