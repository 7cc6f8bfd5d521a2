import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeSnapshots, readCurrentState, StorableFrame, writeGeneration } from './index';

// Snapshot writes start worker threads (from source: with tsx's loader), slow on a busy machine.
jest.setTimeout(60_000);

// States written by StorableFrame itself, so the files are the real format. Rows: a movie-data-like table
// whose titles need quoting; a movie's partition is movieId mod the partition count (the merge takes the
// partitioner as a parameter; the runner passes Kafka's).
interface Row {
  movieId: number;
  title: string;
  count: number;
}

const partitionOf = (rec: Record<string, string>, n: number) => Number(rec.movieId) % n;
const titleOf = (id: number) => (id % 4 === 0 ? `Movie "${id}"; the sequel` : `Movie ${id}`);
/** The line table.csv holds for a row: a title with ; or " is quoted, quotes doubled. */
const lineOf = (id: number, count: number) => {
  const t = titleOf(id);
  return `${id};${/[;"]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t};${count}`;
};
const HEADER = 'movieId;title;count';

const tmp = () => mkdtempSync(join(tmpdir(), 'merge-'));

function frame(stateDir: string, outputFile?: string, keepPrevious = 1) {
  return new StorableFrame<number, Row>({
    name: 'merge-test',
    stateDir,
    outputFile,
    keepPrevious,
    columns: [
      { name: 'movieId', kind: 'number', get: (r) => r.movieId },
      { name: 'title', kind: 'string', get: (r) => r.title },
      { name: 'count', kind: 'number', get: (r) => r.count },
    ],
    fromRecord: (rec) => [Number(rec.movieId), { movieId: Number(rec.movieId), title: rec.title, count: Number(rec.count) }],
  });
}

/** One instance's state: the given movies (with `count` each) and next offsets per topic and partition. */
async function writeState(
  stateDir: string,
  o: { ids: number[]; count?: (id: number) => number; offsets: Record<string, Record<number, number>>; partitions: Record<string, number> },
): Promise<void> {
  const f = frame(stateDir);
  await f.update((rows, recordOffset) => {
    for (const id of o.ids) rows.set(id, { movieId: id, title: titleOf(id), count: o.count ? o.count(id) : id });
    for (const [topic, parts] of Object.entries(o.offsets))
      for (const [p, next] of Object.entries(parts)) recordOffset(topic, Number(p), String(next));
  });
  for (const [topic, n] of Object.entries(o.partitions)) f.setPartitionCount(topic, n);
  await f.snapshot({ force: true });
  await f.close();
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('mergeSnapshots', () => {
  it('joins instances that own disjoint partitions into one table, in movieId order', async () => {
    const dir = tmp();
    const ids = range(1, 40);
    // Three instances over 6 partitions: instance k owns partitions k and k + 3; rows inserted in reverse.
    const dirs = [0, 1, 2].map((k) => join(dir, `p-${k}`));
    for (const k of [0, 1, 2]) {
      const owned = [k, k + 3];
      await writeState(dirs[k], {
        ids: ids.filter((id) => owned.includes(id % 6)).reverse(),
        offsets: { ratings: Object.fromEntries(owned.map((p) => [p, 100 + p])) },
        partitions: { ratings: 6 },
      });
    }
    const out = join(dir, 'merged.csv');
    const r = mergeSnapshots({ stateDirs: dirs, outputFile: out, topics: ['ratings'], partitionOf });
    expect(readFileSync(out, 'utf8')).toBe([HEADER, ...ids.map((id) => lineOf(id, id))].join('\n') + '\n');
    expect(r).toEqual({
      rows: 40,
      partitions: range(0, 5).map((p) => ({ partition: p, from: dirs[p % 3], offsets: { ratings: String(100 + p) } })),
      warnings: [],
    });
  });

  it('takes a partition from its owner, not from a stale instance that still holds an older copy of it', async () => {
    const dir = tmp();
    const [owner, stale] = [join(dir, 'owner'), join(dir, 'stale')];
    const p0 = range(1, 20).filter((id) => id % 2 === 0);
    const p1 = range(1, 20).filter((id) => id % 2 === 1);
    // owner: partition 0 at offset 90, counts 10×. stale: partition 0 at offset 40 (counts 1×, and movie 22
    // the owner has since dropped... cannot happen in the pipeline, but it must not reappear) and partition 1.
    await writeState(owner, { ids: p0, count: (id) => id * 10, offsets: { ratings: { 0: 90 } }, partitions: { ratings: 2 } });
    await writeState(stale, { ids: [...p0, 22, ...p1], offsets: { ratings: { 0: 40, 1: 70 } }, partitions: { ratings: 2 } });
    const out = join(dir, 'merged.csv');
    const r = mergeSnapshots({ stateDirs: [stale, owner], outputFile: out, topics: ['ratings'], partitionOf });
    const expected = range(1, 20).map((id) => lineOf(id, id % 2 === 0 ? id * 10 : id));
    expect(readFileSync(out, 'utf8')).toBe([HEADER, ...expected].join('\n') + '\n');
    expect(r.partitions).toEqual([
      { partition: 0, from: owner, offsets: { ratings: '90' } },
      { partition: 1, from: stale, offsets: { ratings: '70' } },
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('with two topics, takes the instance ahead on both; when none is, the highest sum, with a warning', async () => {
    const dir = tmp();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const partitions = { movies: 2, 'mean-ratings': 2 };
    // Partition 0: a is ahead on both topics. Partition 1: a ahead on movies, b on mean-ratings, b's sum higher.
    await writeState(a, {
      ids: [2, 4, 1, 3],
      count: () => 7,
      offsets: { movies: { 0: 50, 1: 60 }, 'mean-ratings': { 0: 9, 1: 5 } },
      partitions,
    });
    await writeState(b, {
      ids: [2, 4, 1, 3],
      count: () => 8,
      offsets: { movies: { 0: 50, 1: 40 }, 'mean-ratings': { 0: 3, 1: 30 } },
      partitions,
    });
    const out = join(dir, 'merged.csv');
    const r = mergeSnapshots({ stateDirs: [a, b], outputFile: out, topics: ['movies', 'mean-ratings'], partitionOf });
    expect(readFileSync(out, 'utf8')).toBe([HEADER, lineOf(1, 8), lineOf(2, 7), lineOf(3, 8), lineOf(4, 7)].join('\n') + '\n');
    expect(r.partitions.map((p) => p.from)).toEqual([a, b]);
    expect(r.partitions[1].offsets).toEqual({ movies: '40', 'mean-ratings': '30' });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^partition 1: no instance is ahead on every topic .*; took .*\/b, the highest sum of offsets$/);
  });

  it('refuses when a partition is in no instance’s state', async () => {
    const dir = tmp();
    const dirs = [join(dir, 'x'), join(dir, 'y')];
    await writeState(dirs[0], { ids: [3, 6], offsets: { ratings: { 0: 5 } }, partitions: { ratings: 3 } });
    await writeState(dirs[1], { ids: [1, 4], offsets: { ratings: { 1: 5 } }, partitions: { ratings: 3 } });
    expect(() => mergeSnapshots({ stateDirs: dirs, outputFile: join(dir, 'm.csv'), topics: ['ratings'], partitionOf })).toThrow(
      "partition 2 of ratings is in no instance's state: its movies would be missing",
    );
  });

  it('refuses instances whose partition counts differ', async () => {
    const dir = tmp();
    const dirs = [join(dir, 'x'), join(dir, 'y')];
    await writeState(dirs[0], { ids: [2], offsets: { ratings: { 0: 5 } }, partitions: { ratings: 2 } });
    await writeState(dirs[1], { ids: [1], offsets: { ratings: { 1: 5 } }, partitions: { ratings: 3 } });
    expect(() => mergeSnapshots({ stateDirs: dirs, outputFile: join(dir, 'm.csv'), topics: ['ratings'], partitionOf })).toThrow(
      /^partition counts differ: ratings has 3 partitions in .*\/y, ratings in .*\/x has 2; the states cannot be merged$/,
    );
  });

  it('of a single instance writes exactly its own table', async () => {
    const dir = tmp();
    const state = join(dir, 'state');
    const own = join(dir, 'own.csv');
    const f = frame(state, own);
    await f.update((rows, recordOffset) => {
      for (const id of range(1, 12)) rows.set(id, { movieId: id, title: titleOf(id), count: id * 3 });
      for (const p of range(0, 2)) recordOffset('ratings', p, String(10 + p));
    });
    f.setPartitionCount('ratings', 3);
    await f.snapshot({ force: true });
    await f.close();
    const out = join(dir, 'merged.csv');
    const r = mergeSnapshots({ stateDirs: [state], outputFile: out, topics: ['ratings'], partitionOf });
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(own, 'utf8'));
    expect(r.rows).toBe(12);
  });

  it('reads CURRENT again when a newer generation replaced the one it named before its files were read', async () => {
    const dir = tmp();
    const state = join(dir, 'state');
    await writeState(state, { ids: [1, 2], offsets: { ratings: { 0: 2 } }, partitions: { ratings: 1 } });
    const seen: string[] = [];
    const s = readCurrentState(state, (name) => {
      seen.push(name);
      // The instance's next snapshot lands right after CURRENT was read, removing the generation it named.
      if (seen.length === 1) {
        writeGeneration({
          stateDir: state,
          generation: 2,
          table: {
            names: ['movieId', 'title', 'count'],
            kinds: ['number', 'string', 'number'],
            rowCount: 1,
            numbers: [new Float64Array([7]), null, new Float64Array([3])],
            strings: [null, ['Seven'], null],
          },
          offsets: { ratings: { '0': '3' } },
          partitions: { ratings: 1 },
          keepPrevious: 0,
        });
      }
    });
    expect(seen).toEqual(['gen-000000001', 'gen-000000002']);
    expect({ offsets: s?.meta.offsets, records: s?.records }).toEqual({
      offsets: { ratings: { '0': '3' } },
      records: [{ movieId: '7', title: 'Seven', count: '3' }],
    });
  });

  it('says which state cannot be read when CURRENT names a generation that is not there', async () => {
    const dir = tmp();
    const state = join(dir, 'state');
    await writeState(state, { ids: [1], offsets: { ratings: { 0: 1 } }, partitions: { ratings: 1 } });
    writeFileSync(join(state, 'CURRENT'), 'gen-000000009\n');
    expect(() => mergeSnapshots({ stateDirs: [state], outputFile: join(dir, 'm.csv'), topics: ['ratings'], partitionOf })).toThrow(
      `cannot read the state in ${state}: ${join(state, 'gen-000000009', 'offsets.json')}: ENOENT`,
    );
  });
});
