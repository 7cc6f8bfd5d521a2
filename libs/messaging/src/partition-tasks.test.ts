import fc from 'fast-check';
import { JoinChange, PartitionTasks } from './partition-tasks';

describe('PartitionTasks', () => {
  it('claims what a join gains, keeps what runs, releases the saved state it was not given', () => {
    const t = new PartitionTasks([0, 1]);
    const j1 = t.join([1, 2]);
    expect([j1.gained, j1.lost, j1.kept]).toEqual([[1, 2], [0], []]);
    expect(t.claimed([1, 2], j1.generation)).toEqual([1, 2]);
    t.released([0]);
    expect(t.states()).toEqual({ 1: 'running', 2: 'running' });
    const j2 = t.join([2, 3]);
    expect([j2.gained, j2.lost, j2.kept]).toEqual([[3], [1], [2]]);
    expect([...t.running()]).toEqual([2]);
  });

  it('a superseded claim is aborted and never makes its partition run', () => {
    const t = new PartitionTasks();
    const j1 = t.join([0, 1]);
    const j2 = t.join([0]);
    expect(j1.signal.aborted).toBe(true);
    expect(j2.signal.aborted).toBe(false);
    expect(t.claimed([0, 1], j1.generation)).toEqual([]);
    expect(t.state(1)).toBe('releasing');
    expect(t.claimed([0], j2.generation)).toEqual([0]);
  });

  it('a partition released and gained again before its release ended keeps its new claim', () => {
    const t = new PartitionTasks();
    const j1 = t.join([0]);
    t.claimed([0], j1.generation);
    t.join([]);
    const j3 = t.join([0]);
    t.released([0]);
    expect(t.state(0)).toBe('claiming');
    expect(t.claimed([0], j3.generation)).toEqual([0]);
  });

  it('a fenced partition is claimed again only while assigned, and not after the stop', () => {
    const t = new PartitionTasks();
    const j = t.join([0, 1]);
    t.claimed([0, 1], j.generation);
    expect(t.fence(0)).toBe(true);
    expect(t.fence(0)).toBe(false);
    expect(t.isRunning(0)).toBe(false);
    const again = t.reclaim();
    expect(again.partitions).toEqual([0]);
    expect(t.claimed(again.partitions, again.generation)).toEqual([0]);
    t.fence(1);
    t.stop();
    expect(t.reclaim().partitions).toEqual([]);
    expect(j.signal.aborted).toBe(true);
  });

  type Step =
    | { kind: 'join'; indices: number[] }
    | { kind: 'claimed'; which: number }
    | { kind: 'released'; which: number }
    | { kind: 'fence'; partition: number }
    | { kind: 'reclaim' }
    | { kind: 'stop' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('join' as const), indices: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }) }),
    fc.record({ kind: fc.constant('claimed' as const), which: fc.nat(20) }),
    fc.record({ kind: fc.constant('released' as const), which: fc.nat(20) }),
    fc.record({ kind: fc.constant('fence' as const), partition: fc.integer({ min: 0, max: 5 }) }),
    fc.constant({ kind: 'reclaim' as const }),
    fc.constant({ kind: 'stop' as const }),
  );

  it('under any sequence of joins, claims, releases, fences and a stop: only the latest claim of an assigned partition runs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 5 })), fc.array(step, { maxLength: 40 }), (saved, steps) => {
        const t = new PartitionTasks(saved);
        // Claims issued so far (a claim answers later, in any order), and the releases asked for.
        const claims: { partitions: number[]; generation: number; signal: AbortSignal }[] = [];
        const releases: number[][] = [];
        let assigned = new Set<number>();
        let latest: JoinChange | undefined;
        let stopped = false;
        for (const s of steps) {
          switch (s.kind) {
            case 'join': {
              const before = t.running();
              latest = t.join(s.indices);
              assigned = new Set(s.indices);
              // Nothing running is claimed again; nothing assigned is released.
              for (const p of latest.gained) expect(before.has(p)).toBe(false);
              for (const p of latest.lost) expect(assigned.has(p)).toBe(false);
              for (const c of claims) if (c.generation < latest.generation) expect(c.signal.aborted).toBe(true);
              claims.push({ partitions: latest.gained, generation: latest.generation, signal: latest.signal });
              releases.push(latest.lost);
              break;
            }
            case 'claimed': {
              if (claims.length === 0) break;
              const c = claims[s.which % claims.length];
              const now = t.claimed(c.partitions, c.generation);
              // A claim makes partitions run only while it is the current one for them and nothing stops.
              if (now.length) {
                expect(stopped).toBe(false);
                expect(c.signal.aborted).toBe(false);
              }
              for (const p of now) expect(assigned.has(p)).toBe(true);
              break;
            }
            case 'released':
              if (releases.length) t.released(releases[s.which % releases.length]);
              break;
            case 'fence':
              t.fence(s.partition);
              expect(t.isRunning(s.partition)).toBe(false);
              break;
            case 'reclaim': {
              const r = t.reclaim();
              for (const p of r.partitions) expect(assigned.has(p)).toBe(true);
              if (stopped) expect(r.partitions).toEqual([]);
              claims.push(r);
              break;
            }
            case 'stop':
              t.stop();
              stopped = true;
              expect(latest?.signal.aborted ?? true).toBe(true);
              break;
          }
          // Whatever runs is assigned; nothing runs that was not claimed.
          for (const p of t.running()) expect(assigned.has(p)).toBe(true);
        }
      }),
    );
  });
});
