import { FrameTable } from './frame-table';
import { ColumnSpec } from './types';

interface Row {
  id: number;
  name: string;
  sum: number;
  count: number;
}
const columns: ColumnSpec<Row>[] = [
  { name: 'id', kind: 'number', get: (r) => r.id },
  { name: 'name', kind: 'string', get: (r) => r.name },
  { name: 'mean', kind: 'number', get: (r) => (r.count ? r.sum / r.count : undefined) },
];
const row = (id: number, sum = id, count = 1): Row => ({ id, name: `m${id}`, sum, count });

/** The columns a walk over the rows would produce: what the snapshot must equal. */
function walk(t: FrameTable<number, Row>) {
  const rows = [...t.values()];
  return { ids: rows.map((r) => r.id), names: rows.map((r) => r.name), means: rows.map((r) => (r.count ? r.sum / r.count : NaN)) };
}
function copied(t: FrameTable<number, Row>) {
  const c = t.copyColumns();
  return { ids: [...(c.numbers[0] as Float64Array)], names: c.strings[1] as string[], means: [...(c.numbers[2] as Float64Array)] };
}

describe('FrameTable', () => {
  it('keeps its columns equal to its rows through inserts, replacements, deletes and growth', () => {
    const t = new FrameTable<number, Row>(columns);
    for (let i = 1; i <= 3000; i++) t.set(i, row(i)); // grows past the first 1,024 rows twice
    for (let i = 1; i <= 3000; i += 3) t.set(i, row(i, i * 2, 4));
    for (let i = 2; i <= 3000; i += 5) expect(t.delete(i)).toBe(true);
    expect(t.delete(2)).toBe(false);
    t.set(2, row(2, 0, 0)); // back in, with an undefined mean
    expect(t.size).toBe(3000 - 600 + 1);
    expect(copied(t)).toEqual(walk(t));
    expect(t.copyColumns().rowCount).toBe(t.size);
    expect(t.get(4)).toEqual(row(4, 8, 4));
    expect(t.has(7)).toBe(false);
    expect(copied(t).means[t.size - 1]).toBeNaN();
  });

  it('hands out copies: later changes do not reach a copy already taken', () => {
    const t = new FrameTable<number, Row>(columns);
    t.set(1, row(1));
    const before = t.copyColumns();
    t.set(1, row(1, 5, 1));
    t.set(2, row(2));
    expect([...(before.numbers[2] as Float64Array)]).toEqual([1]);
    expect(before.strings[1]).toEqual(['m1']);
    expect(before.rowCount).toBe(1);
  });

  it('freezes rows, so an in-place change (which the columns would miss) throws', () => {
    const t = new FrameTable<number, Row>(columns);
    t.set(1, row(1));
    expect(() => {
      (t.get(1) as Row).sum = 99;
    }).toThrow(TypeError);
    expect(copied(t).means).toEqual([1]);
  });

  it('clears rows and columns', () => {
    const t = new FrameTable<number, Row>(columns);
    t.set(1, row(1));
    t.clear();
    t.set(9, row(9));
    expect([...t.keys()]).toEqual([9]);
    expect(copied(t)).toEqual(walk(t));
  });

  it('counts every change in version, and nothing else', () => {
    const t = new FrameTable<number, Row>(columns);
    const seen: number[] = [t.version];
    const moved = (fn: () => unknown) => {
      fn();
      seen.push(t.version);
      return seen.at(-1) !== seen.at(-2);
    };
    expect(moved(() => t.set(1, row(1)))).toBe(true);
    expect(moved(() => t.set(1, row(1, 3, 2)))).toBe(true);
    expect(moved(() => [t.get(1), t.has(1), [...t.values()], t.copyColumns()])).toBe(false);
    expect(moved(() => t.delete(7))).toBe(false); // nothing to delete
    expect(moved(() => t.delete(1))).toBe(true);
    expect(moved(() => t.clear())).toBe(true);
  });
});
