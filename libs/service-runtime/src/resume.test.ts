import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSourceName, planResume, sameRecord, sourceIdOf, SourcePosition } from './resume';

const rec = (partition: number, offset: string, value: string) => ({
  partition,
  offset,
  timestamp: '0',
  key: Buffer.from('k'),
  value: Buffer.from(value),
});
// Test values "sourceId:row" stand in for encoded Ratings.
const positionOf = (v: Buffer): SourcePosition | undefined => {
  const [id, row] = String(v).split(':').map(Number);
  return Number.isInteger(id) && Number.isInteger(row) ? { sourceId: id, sourceRow: row } : undefined;
};

describe('planResume', () => {
  it('skips through the last row of ours per partition; empty partitions hold nothing; others are foreign', () => {
    const plan = planResume(
      [
        { partition: 0, low: '0', high: '0' },
        { partition: 1, low: '0', high: '10', last: rec(1, '9', '7:120') },
        { partition: 2, low: '0', high: '4', last: rec(2, '3', '8:5') },
        { partition: 3, low: '5', high: '5' }, // emptied by retention
        { partition: 4, low: '0', high: '3', last: rec(4, '2', 'garbage') },
        { partition: 5, low: '0', high: '2', last: rec(5, '1', '7:0') }, // row 0: no position
      ],
      7,
      positionOf,
    );
    expect(plan.partitions).toBe(6);
    expect(plan.skipThrough).toEqual([0, 120, 0, 0, 0, 0]);
    expect(plan.points.map((p) => [p.partition, p.sourceRow])).toEqual([[1, 120]]);
    expect(plan.foreign).toEqual([
      { partition: 2, offset: '3', sourceId: 8 },
      { partition: 4, offset: '2', sourceId: undefined },
      { partition: 5, offset: '1', sourceId: 7 },
    ]);
  });
});

describe('source ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'source-id-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the same file gives the same name; another size, head or name another one', () => {
    const a = join(dir, 'ratings.csv');
    writeFileSync(a, 'userId,movieId,rating,timestamp\n1,2,3.0,4\n');
    const name = defaultSourceName(a);
    expect(defaultSourceName(a)).toBe(name);
    expect(name).toMatch(/^ratings\.csv:42:[0-9a-f]{16}$/);
    writeFileSync(a, 'userId,movieId,rating,timestamp\n1,2,4.0,4\n'); // same size, other content
    expect(defaultSourceName(a)).not.toBe(name);
    const b = join(dir, 'other.csv');
    writeFileSync(b, 'userId,movieId,rating,timestamp\n1,2,3.0,4\n');
    expect(defaultSourceName(b)).not.toBe(name);
    expect(sourceIdOf(name)).toBe(sourceIdOf(name));
    expect(sourceIdOf(name)).not.toBe(sourceIdOf(defaultSourceName(b)));
    for (const n of ['', 'a', name]) expect(sourceIdOf(n)).toBeGreaterThan(0);
  });
});

it('sameRecord compares key and value byte for byte', () => {
  const r = rec(0, '1', 'abc');
  expect(sameRecord({ key: 'k', value: Buffer.from('abc') }, r)).toBe(true);
  expect(sameRecord({ key: 'k', value: Buffer.from('abd') }, r)).toBe(false);
  expect(sameRecord({ key: 'x', value: Buffer.from('abc') }, r)).toBe(false);
  expect(sameRecord({ key: null, value: Buffer.from('abc') }, r)).toBe(false);
});
