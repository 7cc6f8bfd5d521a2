import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import Papa from 'papaparse';
import { join } from 'node:path';
import { StorableFrame, StorableFrameOptions, writeGeneration, serializeTable, CURRENT_FILE, META_FILE, TABLE_FILE } from './index';

interface Row {
  id: number;
  title: string;
  sum: number;
  count: number;
}

function makeFrame(stateDir: string, outputFile?: string, extra: Partial<StorableFrameOptions<number, Row>> = {}) {
  return new StorableFrame<number, Row>({
    ...extra,
    name: 'test',
    stateDir,
    outputFile,
    columns: [
      { name: 'id', kind: 'number', get: (r) => r.id },
      { name: 'title', kind: 'string', get: (r) => r.title },
      { name: 'sum', kind: 'number', get: (r) => r.sum },
      { name: 'count', kind: 'number', get: (r) => r.count },
      { name: 'mean', kind: 'number', get: (r) => (r.count ? r.sum / r.count : undefined) },
    ],
    fromRecord: (rec) => [Number(rec.id), { id: Number(rec.id), title: rec.title, sum: Number(rec.sum), count: Number(rec.count) }],
  });
}

const tmp = () => mkdtempSync(join(tmpdir(), 'frame-'));

describe('StorableFrame', () => {
  it('writes table and offsets as one generation and restores both', async () => {
    const dir = tmp();
    const out = join(dir, 'out', 'table.csv');
    const frame = makeFrame(join(dir, 'state'), out);
    await frame.update((rows, recordOffset) => {
      rows.set(1, { id: 1, title: 'Crouching Tiger, "Hidden" Dragon; Wò hǔ', sum: 7.5, count: 2 });
      rows.set(2, { id: 2, title: 'Plain', sum: 0, count: 0 });
      rows.set(3, { id: 3, title: 'Line\nbreak', sum: 1 / 3, count: 1 });
      recordOffset('ratings', 0, '42');
      recordOffset('ratings', 3, '7');
    });
    const info = await frame.snapshot();
    expect(info).not.toBeNull();
    expect(info!.offsets).toEqual({ ratings: { '0': '42', '3': '7' } });
    expect(readFileSync(out, 'utf8')).toBe(
      'id;title;sum;count;mean\n1;"Crouching Tiger, ""Hidden"" Dragon; Wò hǔ";7.5;2;3.75\n2;Plain;0;0;\n3;"Line\nbreak";0.3333333333333333;1;0.3333333333333333\n',
    );
    await frame.close();

    const restored = makeFrame(join(dir, 'state'));
    expect(await restored.load()).toBe(true);
    expect(restored.offsets()).toEqual({ ratings: { '0': '42', '3': '7' } });
    expect(restored.nextOffset('ratings', 3)).toBe('7');
    const rows = await restored.read((r) => [...r.values()]);
    expect(rows).toEqual([
      { id: 1, title: 'Crouching Tiger, "Hidden" Dragon; Wò hǔ', sum: 7.5, count: 2 },
      { id: 2, title: 'Plain', sum: 0, count: 0 },
      { id: 3, title: 'Line\nbreak', sum: 1 / 3, count: 1 },
    ]);
    await restored.close();
  });

  it('starts empty without a snapshot and skips snapshots when nothing changed', async () => {
    const frame = makeFrame(join(tmp(), 'state'));
    expect(await frame.load()).toBe(false);
    expect(await frame.snapshot()).toBeNull();
    await frame.update((rows) => rows.set(1, { id: 1, title: 't', sum: 1, count: 1 }));
    expect(await frame.snapshot()).not.toBeNull();
    expect(await frame.snapshot()).toBeNull();
    await frame.close();
  });

  it('copies under the lock: updates after the copy are not in that snapshot', async () => {
    const dir = tmp();
    const frame = makeFrame(join(dir, 'state'), join(dir, 'out.csv'));
    await frame.update((rows, recordOffset) => {
      rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 });
      recordOffset('t', 0, '1');
    });
    const snap = frame.snapshot();
    // Queued behind the snapshot's copy: must not leak into it.
    const upd = frame.update((rows, recordOffset) => {
      rows.set(1, { ...rows.get(1)!, sum: 99 });
      recordOffset('t', 0, '2');
    });
    const info = await snap;
    await upd;
    expect(info!.offsets).toEqual({ t: { '0': '1' } });
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toContain('1;a;1;1;1');
    await frame.close();
  });

  it('serializes updates: concurrent async updates never interleave', async () => {
    const frame = makeFrame(join(tmp(), 'state'));
    const trace: string[] = [];
    const slow = (name: string) =>
      frame.update(async () => {
        trace.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, 10));
        trace.push(`${name}:end`);
      });
    await Promise.all([slow('a'), slow('b'), slow('c')]);
    expect(trace).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    await frame.close();
  });

  it('keeps CURRENT on a complete generation when a write fails, and the next write succeeds', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const frame = makeFrame(stateDir);
    await frame.update((rows, recordOffset) => {
      rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 });
      recordOffset('t', 0, '1');
    });
    const first = await frame.snapshot();
    // Make the state directory unwritable (root ignores modes, so replace a path component by a file).
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'not a directory');
    const bad = new StorableFrame<number, Row>({
      ...(frame as unknown as { opts: object }).opts,
      stateDir: join(blocked, 'state'),
    } as never);
    await bad.update((rows) => rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 }));
    await expect(bad.snapshot()).rejects.toMatchObject({ code: 'ENOTDIR' });
    await bad.close();
    expect(readFileSync(join(stateDir, CURRENT_FILE), 'utf8').trim()).toBe(`gen-${String(first!.generation).padStart(9, '0')}`);
    await frame.update((rows, recordOffset) => {
      rows.set(1, { ...rows.get(1)!, count: 2 });
      recordOffset('t', 0, '2');
    });
    const second = await frame.snapshot();
    expect(second!.generation).toBe(first!.generation + 1);
    // Old generations beyond keepPrevious (1) are removed.
    expect(readdirSync(stateDir).filter((e) => e.startsWith('gen-')).length).toBeLessThanOrEqual(2);
    await frame.close();
  });

  it('ignores a half-written generation left by a crash (CURRENT still names the old one)', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const frame = makeFrame(stateDir);
    await frame.update((rows, recordOffset) => {
      rows.set(5, { id: 5, title: 'x', sum: 3, count: 1 });
      recordOffset('t', 1, '10');
    });
    await frame.snapshot();
    await frame.close();
    // A crash mid-write leaves gen-N.tmp with a torn table.
    mkdirSync(join(stateDir, 'gen-000000002.tmp'));
    writeFileSync(join(stateDir, 'gen-000000002.tmp', 'table.csv'), 'id;title;su');
    const restored = makeFrame(stateDir);
    await restored.load();
    expect(restored.offsets()).toEqual({ t: { '1': '10' } });
    expect(await restored.read((r) => r.get(5)?.sum)).toBe(3);
    // The next snapshot replaces the leftover.
    await restored.update((rows) => rows.set(5, { ...rows.get(5)!, count: rows.get(5)!.count + 1 }));
    const info = await restored.snapshot();
    expect(info!.generation).toBe(2);
    expect(existsSync(join(stateDir, 'gen-000000002.tmp'))).toBe(false);
    await restored.close();
  });

  it('runs periodic snapshots and calls back only after the file is on disk', async () => {
    const dir = tmp();
    const out = join(dir, 'out.csv');
    const frame = makeFrame(join(dir, 'state'), out);
    const saved: string[] = [];
    frame.startPeriodic(20, async (info) => {
      // The callback (Kafka commit) sees the file that contains these offsets already in place.
      expect(existsSync(out)).toBe(true);
      saved.push(info.offsets.t['0']);
    });
    for (let i = 1; i <= 5; i++) {
      await frame.update((rows, recordOffset) => {
        rows.set(i, { id: i, title: 't', sum: i, count: 1 });
        recordOffset('t', 0, String(i));
      });
      // Each change is picked up by a later tick (no fixed sleeps: the machine may be busy).
      const deadline = Date.now() + 10_000;
      while (saved[saved.length - 1] !== String(i) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    await frame.stopPeriodic();
    expect(saved).toEqual(['1', '2', '3', '4', '5']);
    await frame.close();
  });
});

describe('StorableFrame: holes found in use', () => {
  const setRow = (frame: StorableFrame<number, Row>, id: number, sum: number, next: string) =>
    frame.update((rows, recordOffset) => {
      rows.set(id, { id, title: `t${id}`, sum, count: 1 });
      recordOffset('t', 0, next);
    });

  it('rejects a snapshot whose worker exits without an error event, reports it, and recovers with a new worker', async () => {
    const dir = tmp();
    const errors: { msg: string; meta?: object }[] = [];
    const logger = { info() {}, warn() {}, error: (msg: string, meta?: object) => void errors.push({ msg, meta }) };
    const frame = makeFrame(join(dir, 'state'), join(dir, 'out.csv'), {
      logger,
      worker: {
        file: join(__dirname, 'fixtures', 'exits-once-worker.ts'),
        execArgv: ['--require', 'tsx/cjs'],
        workerData: join(dir, 'exited'),
      },
    });
    await setRow(frame, 1, 1, '1');
    // Before the fix this never settled: the snapshot (and every later one, and every commit) hung.
    await expect(frame.snapshot()).rejects.toMatchObject({ code: 'EWORKEREXIT', message: expect.stringContaining('exited (code 3)') });
    expect(frame.stats.failures).toBe(1);
    expect(existsSync(join(dir, 'state', CURRENT_FILE))).toBe(false);

    // The periodic loop (what the service runs) notices the failure too, and the next tick writes with a new worker.
    rmSync(join(dir, 'exited'));
    const saved: string[] = [];
    frame.startPeriodic(10, async (info) => void saved.push(info.offsets.t['0']));
    const deadline = Date.now() + 30_000;
    while (saved.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await frame.stopPeriodic();
    expect(errors.map((e) => e.msg)).toEqual([expect.stringContaining('snapshot of test failed; offsets not committed')]);
    expect(errors[0].meta).toMatchObject({ code: 'EWORKEREXIT' });
    expect(saved).toEqual(['1']);
    expect(frame.stats.failures).toBe(2);
    await frame.close();
    const restored = makeFrame(join(dir, 'state'));
    expect(await restored.load()).toBe(true);
    expect(restored.offsets()).toEqual({ t: { '0': '1' } });
    await restored.close();
  });

  it("bounds the snapshot worker's heap, and doubles the bound after a write that needed more, so the table is still saved", async () => {
    const dir = tmp();
    const warnings: string[] = [];
    const logger = { info() {}, warn: (msg: string) => void warnings.push(msg), error() {} };
    // 60,000 rows of 200-character titles: ~13 MB of text, more than a 4 MB worker heap holds.
    const frame = makeFrame(join(dir, 'state'), undefined, { logger, workerHeapMb: 4 });
    const n = 60_000;
    await frame.update((rows, recordOffset) => {
      for (let id = 1; id <= n; id++) rows.set(id, { id, title: `${id}`.padEnd(200, 'x'), sum: id, count: 1 });
      recordOffset('t', 0, String(n));
    });
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 6 && !outcomes.includes('saved'); attempt++) {
      outcomes.push(
        await frame.snapshot({ force: true }).then(
          () => 'saved',
          (e: Error & { code?: string }) => e.code ?? e.message,
        ),
      );
    }
    // Without a bound the first write succeeds, using what heap it likes; with one, each failure is an
    // out-of-memory end of the worker, the bound doubles, and a later write gets through.
    expect(outcomes[0]).toBe('ERR_WORKER_OUT_OF_MEMORY');
    expect(outcomes.at(-1)).toBe('saved');
    expect(warnings).toEqual(
      outcomes
        .slice(0, -1)
        .map((_, i) => `snapshot worker of test ran out of its ${4 * 2 ** i} MB heap; the next one gets ${8 * 2 ** i} MB`),
    );
    await frame.close();
    const restored = makeFrame(join(dir, 'state'));
    expect(await restored.load()).toBe(true);
    const rows = await restored.read((r) => [...r.values()]);
    expect(rows).toHaveLength(n);
    expect(rows[n - 1]).toEqual({ id: n, title: `${n}`.padEnd(200, 'x'), sum: n, count: 1 });
    await restored.close();
  }, 60_000);

  it("writes a table whose text is larger than the worker's heap bound without raising it (the text is written piece by piece)", async () => {
    const dir = tmp();
    const warnings: string[] = [];
    const logger = { info() {}, warn: (msg: string) => void warnings.push(msg), error() {} };
    // 200,000 rows, ~8 MB of CSV text. Made whole (rows of strings, then one text) it took over 40 MB of the
    // worker's heap; piece by piece it fits in 20.
    const frame = makeFrame(join(dir, 'state'), join(dir, 'out.csv'), { logger, workerHeapMb: 32 });
    const n = 200_000;
    await frame.update((rows, recordOffset) => {
      for (let id = 1; id <= n; id++) rows.set(id, { id, title: `movie ${id}`, sum: id * 3.5, count: id });
      recordOffset('t', 0, String(n));
    });
    await frame.snapshot({ force: true });
    expect(warnings).toEqual([]);
    await frame.close();
    const lines = readFileSync(join(dir, 'out.csv'), 'utf8').split('\n');
    expect(lines).toHaveLength(n + 2);
    expect(lines[n]).toBe(`${n};movie ${n};${n * 3.5};${n};3.5`);
    const restored = makeFrame(join(dir, 'state'));
    expect(await restored.load()).toBe(true);
    expect(await restored.read((r) => r.size)).toBe(n);
    await restored.close();
  }, 60_000);

  it('gives concurrent snapshots distinct generations, each with its own result', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const frame = makeFrame(stateDir, undefined, { keepPrevious: 5 });
    await setRow(frame, 1, 1, '1');
    const a = frame.snapshot();
    const b = frame.snapshot({ force: true });
    await setRow(frame, 2, 2, '2');
    const c = frame.snapshot();
    const infos = await Promise.all([a, b, c]);
    expect(infos.map((i) => i?.generation)).toEqual([1, 2, 3]);
    expect(infos.map((i) => i?.offsets.t['0'])).toEqual(['1', '1', '2']);
    expect(readFileSync(join(stateDir, CURRENT_FILE), 'utf8').trim()).toBe('gen-000000003');
    for (const info of infos) {
      const meta = JSON.parse(readFileSync(join(info!.dir, META_FILE), 'utf8'));
      expect([meta.generation, meta.offsets]).toEqual([info!.generation, info!.offsets]);
    }
    await frame.close();
  }, 30_000);

  it('falls back to the previous generation when CURRENT names an unreadable one', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const frame = makeFrame(stateDir);
    await setRow(frame, 1, 10, '5');
    const first = await frame.snapshot();
    await setRow(frame, 2, 20, '9');
    const second = await frame.snapshot();
    await frame.close();
    // A torn table in CURRENT's generation (a disk error, a hand edit): the row count no longer agrees.
    writeFileSync(join(second!.dir, TABLE_FILE), 'id;title;sum;count;mean\n1;t1;10;1;10\n');
    const warnings: string[] = [];
    const restored = makeFrame(stateDir, undefined, { logger: { info() {}, warn: (m: string) => void warnings.push(m), error() {} } });
    expect(await restored.load()).toBe(true);
    expect(restored.offsets()).toEqual(first!.offsets);
    expect(await restored.read((r) => [...r.keys()])).toEqual([1]);
    expect(warnings).toEqual([expect.stringContaining('older generation')]);
    // The next snapshot replaces the broken generation and is loadable.
    await setRow(restored, 3, 30, '12');
    expect((await restored.snapshot())!.generation).toBe(2);
    await restored.close();
    const again = makeFrame(stateDir);
    await again.load();
    expect(again.offsets()).toEqual({ t: { '0': '12' } });
    await again.close();

    // A missing offsets file falls back as well; nothing readable at all is an error naming every generation.
    renameSync(join(stateDir, 'gen-000000002', META_FILE), join(dir, 'moved.json'));
    const third = makeFrame(stateDir);
    expect(await third.load()).toBe(true);
    expect(third.offsets()).toEqual(first!.offsets);
    writeFileSync(join(stateDir, 'gen-000000001', META_FILE), '{"generation":');
    await expect(makeFrame(stateDir).load()).rejects.toThrow(/no readable test snapshot.*gen-000000002.*gen-000000001/);
  });

  it('publishes the output as a file of its own: editing it in place leaves the saved state unchanged', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const out = join(dir, 'out.csv');
    const frame = makeFrame(stateDir, out);
    await setRow(frame, 1, 4, '3');
    await frame.snapshot();
    await frame.close();
    expect(readFileSync(out, 'utf8')).toBe('id;title;sum;count;mean\n1;t1;4;1;4\n');
    // An in-place edit (same inode: what an editor saving over the file or `>` does).
    writeFileSync(out, 'id;title;sum;count;mean\n1;t1;999;1;999\n');
    const restored = makeFrame(stateDir, out);
    expect(await restored.load()).toBe(true);
    expect(await restored.read((r) => r.get(1))).toEqual({ id: 1, title: 't1', sum: 4, count: 1 });
    // The next snapshot replaces the edited output (atomically: a new file renamed over it).
    await setRow(restored, 2, 5, '4');
    await restored.snapshot();
    expect(readFileSync(out, 'utf8')).toBe('id;title;sum;count;mean\n1;t1;4;1;4\n2;t2;5;1;5\n');
    expect(readdirSync(dir).filter((e) => e.endsWith('.tmp'))).toEqual([]);
    await restored.close();
  });

  it('keeps the record mark and partition count with the offsets, and drops a mark that no longer matches the offset', async () => {
    const dir = tmp();
    const stateDir = join(dir, 'state');
    const frame = makeFrame(stateDir);
    const mark = { offset: '6', timestamp: '1700000000000', hash: 'abc' };
    frame.setPartitionCount('t', 3);
    frame.noteLastRecord('t', 0, '7', mark);
    await setRow(frame, 1, 1, '7');
    frame.noteLastRecord('t', 1, '4', { offset: '3', timestamp: '1', hash: 'x' });
    await frame.update((rows, recordOffset) => recordOffset('t', 1, '5')); // recorded a different offset than noted
    await frame.snapshot();
    await frame.close();
    const restored = makeFrame(stateDir);
    await restored.load();
    expect(restored.lastRecord('t', 0)).toEqual(mark);
    expect(restored.lastRecord('t', 1)).toBeUndefined();
    expect(restored.partitionCount('t')).toBe(3);
    expect(restored.partitionCount('other')).toBeUndefined();
    await restored.close();
  });
});

describe('writeGeneration', () => {
  it('writes an empty table as a header only', () => {
    const csv = serializeTable({
      names: ['a', 'b'],
      kinds: ['number', 'string'],
      rowCount: 0,
      numbers: [new Float64Array(0), null],
      strings: [null, []],
    });
    expect(csv).toBe('a;b\n');
  });

  it('writes the table piece by piece as one call of papaparse writes it whole (quoting, numbers, across pieces)', () => {
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a;b', 'say "hi"', 'two\nlines', '', ' ', 'é,ü'));
    const table = fc.integer({ min: 0, max: 5000 }).chain((rowCount) =>
      fc.record({
        rowCount: fc.constant(rowCount),
        sums: fc.array(fc.oneof(fc.double(), fc.integer()), { minLength: rowCount, maxLength: rowCount }),
        titles: fc.array(text, { minLength: rowCount, maxLength: rowCount }),
      }),
    );
    fc.assert(
      fc.property(table, ({ rowCount, sums, titles }) => {
        const copy = {
          names: ['id', 'title', 'sum'],
          kinds: ['number', 'string', 'number'] as ('number' | 'string')[],
          rowCount,
          numbers: [Float64Array.from({ length: rowCount }, (_, i) => i), null, Float64Array.from(sums)],
          strings: [null, titles, null],
        };
        const sum = copy.numbers[2] as Float64Array;
        const rows = titles.map((t, i) => [String(i), t, Number.isNaN(sum[i]) ? '' : String(sum[i])]);
        const whole = Papa.unparse({ fields: copy.names, data: rows }, { delimiter: ';', newline: '\n', quotes: false });
        expect(serializeTable(copy)).toBe(whole.endsWith('\n') ? whole : whole + '\n');
      }),
      { numRuns: 12 },
    );
  });

  it('produces CURRENT naming the new generation', () => {
    const stateDir = join(tmp(), 's');
    const res = writeGeneration({
      stateDir,
      generation: 7,
      keepPrevious: 1,
      offsets: { t: { '0': '3' } },
      table: { names: ['a'], kinds: ['number'], rowCount: 1, numbers: [Float64Array.of(1.5)], strings: [null] },
    });
    expect(readFileSync(join(stateDir, CURRENT_FILE), 'utf8')).toBe('gen-000000007\n');
    expect(readFileSync(join(res.dir, 'table.csv'), 'utf8')).toBe('a\n1.5\n');
    expect(JSON.parse(readFileSync(join(res.dir, 'offsets.json'), 'utf8')).offsets).toEqual({ t: { '0': '3' } });
  });
});

describe('StorableFrame partitions', () => {
  it('drops the rows and the offsets and marks of released partitions only, and the next snapshot holds the rest', async () => {
    const dir = tmp();
    const frame = makeFrame(join(dir, 'state'), join(dir, 'out.csv'));
    await frame.update((rows, recordOffset) => {
      for (let id = 1; id <= 10; id++) rows.set(id, { id, title: `m${id}`, sum: id, count: 1 });
      for (const p of [0, 1, 2]) recordOffset('ratings', p, String(100 + p), { offset: String(99 + p), timestamp: '1', hash: 'h' });
      recordOffset('changelog', 1, '7');
    });
    // Row id % 3 is its partition here.
    expect(await frame.dropPartitions([1], (id) => id % 3)).toBe(4); // 1, 4, 7, 10
    expect(frame.size).toBe(6);
    expect(frame.offsets()).toEqual({ ratings: { '0': '100', '2': '102' }, changelog: {} });
    expect(frame.lastRecord('ratings', 1)).toBeUndefined();
    expect(frame.lastRecord('ratings', 2)).toEqual({ offset: '101', timestamp: '1', hash: 'h' });
    await frame.snapshot();
    await frame.close();
    const again = makeFrame(join(dir, 'state'));
    expect(await again.load()).toBe(true);
    expect(again.size).toBe(6);
    expect(await again.read((rows) => [...rows.keys()].sort((a, b) => a - b))).toEqual([2, 3, 5, 6, 8, 9]);
    await again.close();
  });

  it('advances an offset past transaction markers, never backwards, and drops the mark it no longer describes', async () => {
    const frame = makeFrame(join(tmp(), 'state'));
    await frame.update((_rows, recordOffset) => recordOffset('t', 0, '10', { offset: '9', timestamp: '1', hash: 'h' }));
    await frame.advance('t', 0, '8');
    expect(frame.nextOffset('t', 0)).toBe('10');
    expect(frame.lastRecord('t', 0)).toBeDefined();
    await frame.advance('t', 0, '11');
    expect(frame.nextOffset('t', 0)).toBe('11');
    expect(frame.lastRecord('t', 0)).toBeUndefined();
    await frame.advance('t', 3, '2');
    expect(frame.nextOffset('t', 3)).toBe('2');
    await frame.close();
  });
});
