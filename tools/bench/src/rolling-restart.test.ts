import { longestStall, type OffsetSample } from './rolling-restart';

describe('longestStall', () => {
  /** Samples of one partition from [t, committed, lag] triples. */
  const of = (key: string, rows: [number, number, number][]): OffsetSample[] =>
    rows.map(([t, committed, lag]) => ({ t, key, committed, lag }));

  it('is the longest time a partition was behind while its committed offset stood still', () => {
    const s = of('r/0', [
      [0, 0, 10],
      [100, 5, 10], // moved: the stall 0 → 100 ends
      [200, 5, 10],
      [300, 5, 10],
      [400, 5, 10],
      [500, 9, 3], // moved after 400 ms behind (100 → 500)
      [600, 12, 0],
    ]);
    expect(longestStall(s)).toEqual({ ms: 400, key: 'r/0' });
  });
  it('a partition with nothing to consume is not stalled, however long its offset stands', () => {
    expect(
      longestStall(
        of('r/0', [
          [0, 7, 0],
          [1000, 7, 0],
          [5000, 7, 0],
          [5100, 9, 0],
        ]),
      ),
    ).toEqual({ ms: 0 });
  });
  it('a stall starts when the lag appears, and ends when it is gone', () => {
    const s = of('r/0', [
      [0, 7, 0],
      [1000, 7, 4], // behind from here
      [1300, 7, 4],
      [1500, 7, 0], // caught up without a commit of ours (e.g. end offsets read late): 500 ms
    ]);
    expect(longestStall(s)).toEqual({ ms: 500, key: 'r/0' });
  });
  it('a stall still open at the last poll counts up to it; the partitions are apart', () => {
    const s = [
      ...of('r/0', [
        [0, 0, 5],
        [100, 1, 5],
        [2000, 1, 5],
      ]),
      ...of('r/1', [
        [0, 0, 5],
        [100, 1, 5],
        [200, 2, 5],
      ]),
    ].sort((a, b) => a.t - b.t);
    expect(longestStall(s)).toEqual({ ms: 1900, key: 'r/0' });
  });
  it('matches a brute-force computation on random samples', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 200; trial++) {
      const rows: [number, number, number][] = [];
      let committed = 0;
      for (let t = 0; t < 3000; t += 100) {
        if (rnd() < 0.3) committed += 1 + Math.floor(rnd() * 3);
        rows.push([t, committed, rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 5)]);
      }
      // Brute force: for every pair i < j, the span is a stall when samples i..j-1 all had lag > 0 and the same
      // committed offset as i, and i starts it (i = 0, or i-1 differs in offset or had no lag); it ends at j.
      let best = 0;
      for (let i = 0; i < rows.length; i++) {
        if (rows[i]![2] === 0) continue;
        if (i > 0 && rows[i - 1]![1] === rows[i]![1] && rows[i - 1]![2] > 0) continue;
        let j = i + 1;
        while (j < rows.length && rows[j]![1] === rows[i]![1] && rows[j]![2] > 0) j++;
        best = Math.max(best, rows[Math.min(j, rows.length - 1)]![0] - rows[i]![0]);
      }
      expect(longestStall(of('p', rows)).ms).toBe(best);
    }
  });
});
