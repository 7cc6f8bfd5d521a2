import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Papa from 'papaparse';
import { RejectedRowsFile, type RejectedRow } from './index';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rejected-rows-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RejectedRowsFile', () => {
  it('writes line;reason;raw with RFC 4180 quoting that parses back', async () => {
    const out = new RejectedRowsFile(path.join(dir, 'nested', 'out'), '/data/in/ratings.csv');
    expect(out.path).toBe(path.join(dir, 'nested', 'out', 'rejected-ratings.csv'));
    const rows: RejectedRow[] = [
      { file: 'ratings.csv', line: 3, reason: 'empty line', raw: '' },
      { file: 'ratings.csv', line: 7, reason: 'rating "7" outside 0.5-5.0', raw: '1,2,7,4' },
      { file: 'ratings.csv', line: 9, reason: 'a;b', raw: '1,"x\ny ""z""; Amélie",3' },
    ];
    for (const r of rows) out.write(r);
    for (let i = 0; i < 5000; i++) out.write({ file: 'ratings.csv', line: 100 + i, reason: 'expected 4 fields, got 1', raw: `junk ${i};` });
    expect(out.count).toBe(5003);
    await out.close();
    await out.close();

    const text = readFileSync(out.path, 'utf8');
    expect(text.startsWith('line;reason;raw\n3;empty line;\n7;"rating ""7"" outside 0.5-5.0";1,2,7,4\n')).toBe(true);
    const parsed = Papa.parse<Record<string, string>>(text, { header: true, delimiter: ';', skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data).toHaveLength(5003);
    expect(parsed.data.slice(0, 3)).toEqual(rows.map((r) => ({ line: String(r.line), reason: r.reason, raw: r.raw })));
    expect(parsed.data[5002]).toEqual({ line: '5099', reason: 'expected 4 fields, got 1', raw: 'junk 4999;' });
  });

  it('creates no file when nothing is written', async () => {
    const out = new RejectedRowsFile(path.join(dir, 'empty'), 'movies.csv');
    await out.close();
    expect(out.count).toBe(0);
    expect(existsSync(out.path)).toBe(false);
    expect(() => out.write({ file: 'movies.csv', line: 2, reason: 'x', raw: '' })).toThrow(/after close/);
  });
});
