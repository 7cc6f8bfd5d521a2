import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorableFrame, writeGeneration, serializeTable, CURRENT_FILE } from './index';

interface Row { id: number; title: string; sum: number; count: number }

function makeFrame(stateDir: string, outputFile?: string) {
  return new StorableFrame<number, Row>({
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
    await frame.update((rows, commit) => {
      rows.set(1, { id: 1, title: 'Crouching Tiger, "Hidden" Dragon; Wò hǔ', sum: 7.5, count: 2 });
      rows.set(2, { id: 2, title: 'Plain', sum: 0, count: 0 });
      rows.set(3, { id: 3, title: 'Line\nbreak', sum: 1 / 3, count: 1 });
      commit('ratings', 0, '42');
      commit('ratings', 3, '7');
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
    await frame.update((rows, commit) => {
      rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 });
      commit('t', 0, '1');
    });
    const snap = frame.snapshot();
    // Queued behind the snapshot's copy: must not leak into it.
    const upd = frame.update((rows, commit) => {
      rows.set(1, { ...rows.get(1)!, sum: 99 });
      commit('t', 0, '2');
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
    await frame.update((rows, commit) => {
      rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 });
      commit('t', 0, '1');
    });
    const first = await frame.snapshot();
    // Make the state directory unwritable (root ignores modes, so replace a path component by a file).
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'not a directory');
    const bad = new StorableFrame<number, Row>({ ...(frame as unknown as { opts: object }).opts, stateDir: join(blocked, 'state') } as never);
    await bad.update((rows) => rows.set(1, { id: 1, title: 'a', sum: 1, count: 1 }));
    await expect(bad.snapshot()).rejects.toMatchObject({ code: 'ENOTDIR' });
    await bad.close();
    expect(readFileSync(join(stateDir, CURRENT_FILE), 'utf8').trim()).toBe(`gen-${String(first!.generation).padStart(9, '0')}`);
    await frame.update((rows, commit) => {
      rows.set(1, { ...rows.get(1)!, count: 2 });
      commit('t', 0, '2');
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
    await frame.update((rows, commit) => {
      rows.set(5, { id: 5, title: 'x', sum: 3, count: 1 });
      commit('t', 1, '10');
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
      await frame.update((rows, commit) => {
        rows.set(i, { id: i, title: 't', sum: i, count: 1 });
        commit('t', 0, String(i));
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

describe('writeGeneration', () => {
  it('writes an empty table as a header only', () => {
    const csv = serializeTable({ names: ['a', 'b'], kinds: ['number', 'string'], rowCount: 0, numbers: [new Float64Array(0), null], strings: [null, []] });
    expect(csv).toBe('a;b\n');
  });

  it('produces CURRENT naming the new generation', () => {
    const stateDir = join(tmp(), 's');
    const res = writeGeneration({
      stateDir, generation: 7, keepPrevious: 1, offsets: { t: { '0': '3' } },
      table: { names: ['a'], kinds: ['number'], rowCount: 1, numbers: [Float64Array.of(1.5)], strings: [null] },
    });
    expect(readFileSync(join(stateDir, CURRENT_FILE), 'utf8')).toBe('gen-000000007\n');
    expect(readFileSync(join(res.dir, 'table.csv'), 'utf8')).toBe('a\n1.5\n');
    expect(JSON.parse(readFileSync(join(res.dir, 'offsets.json'), 'utf8')).offsets).toEqual({ t: { '0': '3' } });
  });
});
