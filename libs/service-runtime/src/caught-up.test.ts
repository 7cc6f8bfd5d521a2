import { CaughtUp } from './caught-up';

function setup() {
  const ends: Record<string, Map<number, bigint>> = {
    a: new Map([
      [0, 10n],
      [1, 5n],
    ]),
    b: new Map([
      [0, 3n],
      [1, 0n],
    ]),
  };
  const positions: Record<string, Map<number, string>> = { a: new Map(), b: new Map() };
  let reads = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const c = new CaughtUp({
    topics: ['a', 'b'],
    endOffsets: async (t) => {
      reads++;
      const snapshot = new Map(ends[t]);
      if (gate) await gate;
      return snapshot;
    },
    position: (t, p) => positions[t].get(p),
  });
  return {
    c,
    ends,
    positions,
    reads: () => reads,
    holdReads: () => (gate = new Promise<void>((r) => (open = r))),
    release: () => ((gate = undefined), open?.()),
  };
}

describe('CaughtUp', () => {
  it('serves a claimed partition only once its position reached the end offsets read after the claim', async () => {
    const { c, positions } = setup();
    const running = new Map([
      [0, 100],
      [1, 100],
    ]);
    expect(c.serving(running)).toEqual(new Set());
    await c.settled();
    // Partition 1: a at 0 of 5.
    expect(c.serving(running)).toEqual(new Set());
    positions.a.set(1, '5');
    expect(c.serving(running)).toEqual(new Set([1]));
    positions.a.set(0, '10');
    expect(c.serving(running)).toEqual(new Set([1])); // b still at 0 of 3
    positions.b.set(0, '3');
    expect(c.serving(running)).toEqual(new Set([0, 1]));
  });

  it('a new claim of a partition (another claim time) waits again; a released one is forgotten', async () => {
    const { c, positions, ends } = setup();
    positions.a.set(1, '5');
    c.serving(new Map([[1, 100]]));
    await c.settled();
    expect(c.serving(new Map([[1, 100]]))).toEqual(new Set([1]));
    ends.a.set(1, 9n);
    expect(c.serving(new Map([[1, 200]]))).toEqual(new Set());
    await c.settled();
    expect(c.serving(new Map([[1, 200]]))).toEqual(new Set());
    positions.a.set(1, '9');
    expect(c.serving(new Map([[1, 200]]))).toEqual(new Set([1]));
    expect(c.serving(new Map())).toEqual(new Set());
  });

  it('never takes end offsets read before a claim for it', async () => {
    const { c, positions, ends, holdReads, release, reads } = setup();
    // Partition 0 claimed at 1, partition 1 at 2.
    const both = new Map([
      [0, 1],
      [1, 2],
    ]);
    holdReads();
    c.serving(new Map([[0, 1]])); // starts a read of the ends as they are now
    ends.a.set(1, 50n); // then partition 1 is written to and claimed
    positions.a.set(1, '5');
    expect(c.serving(both)).toEqual(new Set());
    release();
    await c.settled();
    // The read that began before partition 1's claim said 5: not used for it.
    expect(c.serving(both)).toEqual(new Set());
    await c.settled();
    expect(c.serving(both)).toEqual(new Set());
    positions.a.set(1, '50');
    expect(c.serving(both)).toEqual(new Set([1]));
    expect(reads()).toBe(4); // two reads × two topics
  });
});
