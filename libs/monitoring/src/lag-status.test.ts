import { groupStatus, LagSample, partitionStatus, StatusRules } from './lag-status';

const rules: StatusRules = { stallAfterMs: 10_000, stopAfterMs: 30_000, minSamples: 4 };
/** Samples every 2 s: [committed, end] per step for one partition. */
const history = (steps: [number, number][]) => steps.map(([committed, end], i) => ({ t: i * 2000, committed, lag: end - committed }));

describe('partitionStatus (Burrow-style rules)', () => {
  it('OK when caught up, whatever happened before', () => {
    expect(
      partitionStatus(
        history([
          [0, 100],
          [0, 200],
          [300, 300],
        ]),
        rules,
      ).status,
    ).toBe('OK');
  });
  it('OK while lag is worked off', () => {
    expect(
      partitionStatus(
        history([
          [0, 1000],
          [200, 1100],
          [500, 1200],
          [900, 1250],
          [1100, 1300],
        ]),
        rules,
      ).status,
    ).toBe('OK');
  });
  it('WARNING when lag grows at every step although the consumer commits', () => {
    const r = partitionStatus(
      history([
        [0, 100],
        [50, 200],
        [100, 400],
        [150, 700],
      ]),
      rules,
    );
    expect(r).toEqual({ status: 'WARNING', reason: 'lag grew at each of the last 4 samples to 550' });
  });
  it('not WARNING with fewer samples than the rule needs', () => {
    expect(
      partitionStatus(
        history([
          [0, 100],
          [50, 200],
          [100, 400],
        ]),
        rules,
      ).status,
    ).toBe('OK');
  });
  it('STALLED when the committed offset stops moving while lag remains', () => {
    // committed at 500 from t=2 s to t=12 s: 10 s without moving.
    const r = partitionStatus(
      history([
        [100, 900],
        [500, 900],
        [500, 900],
        [500, 900],
        [500, 900],
        [500, 900],
        [500, 900],
      ]),
      rules,
    );
    expect(r.status).toBe('STALLED');
    expect(r.reason).toMatch(/stuck for 10 s, lag 400/);
  });
  it('STOPPED when no commit for stopAfterMs and lag > 0', () => {
    const steps: [number, number][] = Array.from({ length: 17 }, (_, i) => [500, 900 + i]);
    expect(partitionStatus(history(steps), rules).status).toBe('STOPPED');
  });
  it('a standing committed offset with no lag is OK (idle consumer)', () => {
    const steps: [number, number][] = Array.from({ length: 20 }, () => [500, 500]);
    expect(partitionStatus(history(steps), rules).status).toBe('OK');
  });
});

describe('groupStatus', () => {
  const sample = (t: number, state: string, parts: [number, number][]): LagSample => ({
    t,
    state,
    partitions: parts.map(([committed, end], partition) => ({ topic: 'r', partition, committed, end, lag: end - committed })),
  });

  it('is the worst partition’s status, with the total lag', () => {
    const samples = [0, 1, 2, 3, 4, 5, 6].map((i) =>
      sample(i * 2000, 'Stable', [
        [100 + i * 10, 200 + i * 10],
        [50, 80],
      ]),
    );
    const g = groupStatus(samples, rules);
    expect(g.status).toBe('STALLED');
    expect(g.totalLag).toBe(130);
    expect(g.reason).toMatch(/^r\[1\]: committed offset stuck/);
    expect(g.partitions.map((p) => p.status)).toEqual(['OK', 'STALLED']);
  });
  it('STOPPED at once when the group has no members but lags', () => {
    const g = groupStatus([sample(0, 'Empty', [[10, 20]])], rules);
    expect(g).toMatchObject({ status: 'STOPPED', totalLag: 10, reason: 'no members (Empty) and lag 10' });
  });
  it('an empty group that is caught up is OK (a finished pipeline)', () => {
    expect(groupStatus([sample(0, 'Empty', [[20, 20]])], rules).status).toBe('OK');
  });
});
