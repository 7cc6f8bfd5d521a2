import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEAN_RATING_COLUMNS, meanFromRecord, MovieMean } from '@movie-stream/mean-rating';
import { keyPartitioner } from '@movie-stream/messaging';
import { MOVIE_DATA_COLUMNS, movieDataFromRecord, MovieDataRow } from '@movie-stream/movie-data';
import { ColumnSpec, StorableFrame } from '@movie-stream/storable-frame';
import { instanceStateDirs, mergeRunOutputs } from './merge-outputs';

const ids = Array.from({ length: 60 }, (_, i) => i * 7 + 1);
const mean = (id: number): MovieMean => ({ movieId: id, sum: id * 1.5 + 0.5, count: id + 1 });
const movie = (id: number): MovieDataRow => ({
  movieId: id,
  title: `Movie "${id}"; a title`,
  genres: 'Drama|War',
  mean: 1.5,
  count: id + 1,
});

/** Writes a state (or, with outputFile, the reference table a single instance holding `rows` would write). */
async function writeState<Row extends { movieId: number }>(o: {
  stateDir: string;
  outputFile?: string;
  columns: ColumnSpec<Row>[];
  fromRecord: (rec: Record<string, string>) => [number, Row];
  rows: Row[];
  offsets: Record<string, number[]>;
  partitions: Record<string, number>;
}): Promise<void> {
  const f = new StorableFrame<number, Row>({
    name: 't',
    stateDir: o.stateDir,
    outputFile: o.outputFile,
    columns: o.columns,
    fromRecord: o.fromRecord,
  });
  await f.update((table, recordOffset) => {
    for (const r of o.rows) table.set(r.movieId, r);
    for (const [topic, parts] of Object.entries(o.offsets)) for (const p of parts) recordOffset(topic, p, String(1000 + p));
  });
  for (const [t, n] of Object.entries(o.partitions)) f.setPartitionCount(t, n);
  await f.snapshot({ force: true });
  await f.close();
}

describe('mergeRunOutputs', () => {
  it('merges the instances under <out>/instances into the run’s two files, by the Publisher’s partitions', async () => {
    const out = mkdtempSync(join(tmpdir(), 'merge-run-'));
    const ratings = 'run-m.ratings';
    const [movies, meanRatings] = ['run-m.movies', 'run-m.mean-ratings'];
    const ofRatings = keyPartitioner(ratings, 6);
    const ofMovies = keyPartitioner(movies, 3);
    // Processors 0 and 1 share 6 ratings partitions (0 owns the even ones); sinks 0, 1 and 2 one each of 3.
    for (const i of [0, 1]) {
      const owned = [0, 1, 2, 3, 4, 5].filter((p) => p % 2 === i);
      await writeState({
        stateDir: join(out, 'instances', `mean-rating-processor-${i}`, '.state', 'mean-rating-processor'),
        columns: MEAN_RATING_COLUMNS,
        fromRecord: meanFromRecord,
        rows: ids.filter((id) => owned.includes(ofRatings(String(id)))).map(mean),
        offsets: { [ratings]: owned },
        partitions: { [ratings]: 6 },
      });
    }
    for (const i of [0, 1, 2]) {
      await writeState({
        stateDir: join(out, 'instances', `movie-data-sink-${i}`, '.state', 'movie-data-sink'),
        columns: MOVIE_DATA_COLUMNS,
        fromRecord: movieDataFromRecord,
        rows: ids.filter((id) => ofMovies(String(id)) === i).map(movie),
        offsets: { [movies]: [i], [meanRatings]: [i] },
        partitions: { [movies]: 3, [meanRatings]: 3 },
      });
    }
    // What one instance holding every movie writes (rows in id order).
    const ref = mkdtempSync(join(tmpdir(), 'merge-ref-'));
    await writeState({
      stateDir: join(ref, 'p'),
      outputFile: join(ref, 'mean-ratings.csv'),
      columns: MEAN_RATING_COLUMNS,
      fromRecord: meanFromRecord,
      rows: ids.map(mean),
      offsets: {},
      partitions: {},
    });
    await writeState({
      stateDir: join(ref, 's'),
      outputFile: join(ref, 'movie-data.csv'),
      columns: MOVIE_DATA_COLUMNS,
      fromRecord: movieDataFromRecord,
      rows: ids.map(movie),
      offsets: {},
      partitions: {},
    });

    // Without topic names, as `npm run merge-output` calls it: they come from the states.
    const merged = mergeRunOutputs(out);
    expect(readFileSync(join(out, 'mean-ratings.csv'), 'utf8')).toBe(readFileSync(join(ref, 'mean-ratings.csv'), 'utf8'));
    expect(readFileSync(join(out, 'movie-data.csv'), 'utf8')).toBe(readFileSync(join(ref, 'movie-data.csv'), 'utf8'));
    expect(merged.map((m) => ({ app: m.app, instances: m.instances, rows: m.rows, warnings: m.warnings }))).toEqual([
      { app: 'mean-rating-processor', instances: 2, rows: 60, warnings: [] },
      { app: 'movie-data-sink', instances: 3, rows: 60, warnings: [] },
    ]);
    expect(merged[1].partitions.map((p) => [p.partition, p.from])).toEqual(
      [0, 1, 2].map((i) => [i, join(out, 'instances', `movie-data-sink-${i}`, '.state', 'movie-data-sink')]),
    );
    // With the run's names, as PipelineRun.mergeOutputs calls it: the same result.
    expect(mergeRunOutputs(out, (app) => (app === 'mean-rating-processor' ? [ratings] : [movies, meanRatings]))).toEqual(merged);
  });

  it('finds no instance state in the out directory of an unscaled run, and refuses to merge it', () => {
    const out = mkdtempSync(join(tmpdir(), 'merge-none-'));
    expect(instanceStateDirs(out, 'movie-data-sink')).toEqual([]);
    expect(() => mergeRunOutputs(out)).toThrow(
      `no mean-rating-processor instance under ${join(out, 'instances')}: not the output of a scaled run`,
    );
  });
});
