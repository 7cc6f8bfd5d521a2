import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import Papa from 'papaparse';
import { CURRENT_FILE, META_FILE, TABLE_FILE } from './index';

jest.setTimeout(300_000);

// The writer is bundled once to plain JS: a process per kill started through tsx took seconds on a loaded
// machine (40 of them overran the test's time); node on a bundle starts in ~50 ms.
let writer: string;
beforeAll(() => {
  writer = join(mkdtempSync(join(tmpdir(), 'write-loop-')), 'write-loop.js');
  buildSync({
    entryPoints: [join(__dirname, 'fixtures', 'write-loop.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: writer,
    logLevel: 'warning',
  });
});

/** What a restarting service would load: CURRENT's generation, checked for completeness and agreement. */
function loadCurrent(stateDir: string): { generation: number; rows: number } | null {
  if (!existsSync(join(stateDir, CURRENT_FILE))) return null;
  const dir = join(stateDir, readFileSync(join(stateDir, CURRENT_FILE), 'utf8').trim());
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
  const parsed = Papa.parse<Record<string, string>>(readFileSync(join(dir, TABLE_FILE), 'utf8'), {
    header: true,
    delimiter: ';',
    skipEmptyLines: true,
  });
  expect(parsed.errors).toEqual([]);
  expect(parsed.data).toHaveLength(meta.rows);
  // Table and offsets belong to the same generation.
  for (const r of parsed.data) expect(Number(r.gen)).toBe(meta.generation);
  expect(meta.offsets.t['0']).toBe(String(meta.generation * 1000));
  return { generation: meta.generation, rows: meta.rows };
}

// A failed expectation ends the test mid-loop: the writer it was about to kill must not outlive it.
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
});

it('SIGKILL at random moments of snapshot writes never leaves a torn or mixed snapshot', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kill-write-'));
  const stateDir = join(root, 'state');
  const rows = 60_000;
  let midWrite = 0;
  let lastGeneration = 0;
  // Kill until three kills have hit a write in progress (a generation directory or CURRENT not yet renamed).
  let kills = 0;
  for (let k = 0; k < 40 && midWrite < 3; k++) {
    kills++;
    const child = spawn(process.execPath, [writer, stateDir, String(rows)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    const doneAt: number[] = [];
    child.stdout.on('data', (d: Buffer) => {
      for (let n = String(d).split('\n').filter(Boolean).length; n > 0; n--) doneAt.push(performance.now());
    });
    // Wait for two complete generations (their distance is one generation's time on this machine, now),
    // then kill at a spread-out moment of the next one: from serialization through the CURRENT switch.
    while (doneAt.length < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    const period = doneAt[1] - doneAt[0];
    await new Promise((r) => setTimeout(r, period * ((k * 0.618) % 1)));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    if (readdirSync(stateDir).some((e) => e.endsWith('.tmp'))) midWrite++;
    const current = loadCurrent(stateDir);
    expect(current).not.toBeNull();
    expect(current!.rows).toBe(rows);
    expect(current!.generation).toBeGreaterThan(lastGeneration); // progress, and never backwards
    lastGeneration = current!.generation;
    // The published copy is always a whole file too.
    const out = Papa.parse(readFileSync(join(root, 'out.csv'), 'utf8'), { header: true, delimiter: ';', skipEmptyLines: true });
    expect(out.errors).toEqual([]);
    expect(out.data).toHaveLength(rows);
  }
  process.stderr.write(`kill-during-write: ${kills} kills, ${midWrite} in the middle of a write\n`);
  expect(midWrite).toBeGreaterThan(0);
});
