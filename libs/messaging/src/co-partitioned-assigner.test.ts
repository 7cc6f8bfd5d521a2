import * as fc from 'fast-check';
import { AssignerProtocol, type Cluster, type GroupMember, type Logger } from './kafkajs';
import {
  assignCoPartitioned,
  assignedIndices,
  coPartitionedAssigner,
  decodeAdvertisement,
  decodeOwned,
  encodeOwned,
} from './co-partitioned-assigner';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `member-${String.fromCharCode(97 + i)}`);

/** Every index 0..P-1 exactly once, and the members' counts differ by at most 1. */
function expectPartitionedAndBalanced(result: Map<string, number[]>, members: string[], partitionCount: number) {
  expect([...result.keys()].sort()).toEqual([...members].sort());
  const all = [...result.values()].flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: partitionCount }, (_, i) => i));
  const counts = [...result.values()].map((v) => v.length);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
}

function moved(before: Map<string, number[]>, after: Map<string, number[]>): number {
  let n = 0;
  for (const [m, indices] of after) n += indices.filter((i) => !(before.get(m) ?? []).includes(i)).length;
  return n;
}

describe('assignCoPartitioned', () => {
  it('covers every index once and balances, for 1..7 members × 1..12 partitions', () => {
    for (let n = 1; n <= 7; n++) {
      for (let p = 1; p <= 12; p++) {
        const members = ids(n);
        const result = assignCoPartitioned(members, {}, p);
        expectPartitionedAndBalanced(result, members, p);
        // Each member gets floor(P/N) or ceil(P/N), and exactly P mod N of them get the larger share.
        const counts = [...result.values()].map((v) => v.length);
        expect(counts.filter((c) => c === Math.ceil(p / n)).length).toBe(p % n === 0 ? n : p % n);
      }
    }
  });

  it('adding a member moves only about P/N indices, all of them to the new member', () => {
    for (let n = 1; n <= 6; n++) {
      for (let p = 1; p <= 12; p++) {
        const members = ids(n + 1);
        const before = assignCoPartitioned(members.slice(0, n), {}, p);
        const after = assignCoPartitioned(members, before, p);
        expectPartitionedAndBalanced(after, members, p);
        const newcomer = members[n]!;
        // Indices that changed owner all went to the newcomer, and it got no more than its fair share.
        expect(moved(before, after)).toBe(after.get(newcomer)!.length);
        expect(after.get(newcomer)!.length).toBe(Math.floor(p / (n + 1)));
        for (const m of members.slice(0, n)) expect(before.get(m)).toEqual(expect.arrayContaining(after.get(m)!));
      }
    }
  });

  it('removing a member moves only its indices; the others keep all of theirs', () => {
    for (let n = 2; n <= 7; n++) {
      for (let p = 1; p <= 12; p++) {
        const members = ids(n);
        const before = assignCoPartitioned(members, {}, p);
        for (const gone of members) {
          const survivors = members.filter((m) => m !== gone);
          const owned = new Map(survivors.map((m) => [m, before.get(m)!]));
          const after = assignCoPartitioned(survivors, owned, p);
          expectPartitionedAndBalanced(after, survivors, p);
          for (const m of survivors) expect(after.get(m)).toEqual(expect.arrayContaining(before.get(m)!));
          expect(moved(before, after)).toBe(before.get(gone)!.length);
        }
      }
    }
  });

  it('gives moved indices to the least loaded members and takes away only what balance requires', () => {
    // a claims everything: it keeps the lowest 2 of 6, b and c (empty) get the rest, lowest index to the first in id order.
    const result = assignCoPartitioned(['c', 'a', 'b'], { a: [5, 4, 3, 2, 1, 0] }, 6);
    expect(Object.fromEntries(result)).toEqual({ a: [0, 1], b: [2, 4], c: [3, 5] });
    // The extra slot of 7 over 3 goes to the member that claims the most, so it keeps 3.
    const seven = assignCoPartitioned(['a', 'b', 'c'], { a: [0, 1], c: [2, 3, 4, 5, 6] }, 7);
    expect(seven.get('c')).toEqual([2, 3, 4]);
    expect(seven.get('a')).toEqual([0, 1]);
    expect(seven.get('b')).toEqual([5, 6]);
  });

  it('ignores claims out of range and lets the first member in id order keep a doubly claimed index', () => {
    const result = assignCoPartitioned(['b', 'a'], { a: [1, 9, -1, 1.5], b: [1, 2] }, 4);
    expect(result.get('a')).toContain(1);
    expect(result.get('b')).toContain(2);
    expectPartitionedAndBalanced(result, ['a', 'b'], 4);
  });

  it('gives an index two members advertise to the later claim, whatever the member ids (an evicted member coming back loses)', () => {
    // z claimed 1 after a (the zombie) was evicted; a still advertises it with its older claim time.
    const claimedAt = new Map([
      ['a', new Map([[1, 1_000]])],
      ['z', new Map([[1, 2_000]])],
    ]);
    const result = assignCoPartitioned(['a', 'z'], { a: [1], z: [1] }, 2, claimedAt);
    expect(result.get('z')).toEqual([1]);
    expect(result.get('a')).toEqual([0]);
  });

  it('leaves members beyond the partition count idle', () => {
    const result = assignCoPartitioned(ids(5), {}, 3);
    expectPartitionedAndBalanced(result, ids(5), 3);
    expect([...result.values()].filter((v) => v.length === 0)).toHaveLength(2);
  });

  it('refuses no members, duplicate members and a bad partition count', () => {
    expect(() => assignCoPartitioned([], {}, 3)).toThrow('no members');
    expect(() => assignCoPartitioned(['a', 'a'], {}, 3)).toThrow('member a is listed twice');
    expect(() => assignCoPartitioned(['a'], {}, -1)).toThrow('partition count -1');
  });

  it('property: a partition of 0..P-1, balanced, independent of member order, keeping min(claimed, ⌊P/N⌋) of disjoint claims', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.integer({ min: -2, max: 32 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 40 }),
        (n, p, claimedIndices, claimers) => {
          const members = ids(n);
          // Disjoint claims: each index goes to at most one member.
          const owned = new Map<string, number[]>();
          const seen = new Set<number>();
          claimedIndices.forEach((index, k) => {
            if (seen.has(index)) return;
            seen.add(index);
            const m = members[(claimers[k] ?? 0) % n]!;
            owned.set(m, [...(owned.get(m) ?? []), index]);
          });
          const result = assignCoPartitioned(members, owned, p);
          expectPartitionedAndBalanced(result, members, p);
          expect(assignCoPartitioned([...members].reverse(), owned, p)).toEqual(result);
          for (const m of members) {
            const valid = (owned.get(m) ?? []).filter((i) => i >= 0 && i < p);
            const kept = result.get(m)!.filter((i) => valid.includes(i)).length;
            expect(kept).toBeGreaterThanOrEqual(Math.min(valid.length, Math.floor(p / n)));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('ownership advertisement', () => {
  it('round-trips, and an empty one owns nothing', () => {
    expect(decodeOwned(encodeOwned([3, 0, 5]))).toEqual([3, 0, 5]);
    expect(decodeOwned(Buffer.alloc(0))).toEqual([]);
    expect(() => decodeOwned(Buffer.from('{"owned":["x"]}'))).toThrow('no "owned" list');
    expect(() => decodeOwned(Buffer.from('garbage'))).toThrow();
    const ad = decodeAdvertisement(
      encodeOwned(
        [3, 0],
        new Map([
          [3, 17],
          [0, 42],
        ]),
      ),
    );
    expect([ad.owned, [...ad.claimedAt]]).toEqual([
      [3, 0],
      [
        [3, 17],
        [0, 42],
      ],
    ]);
  });

  it("carries the member's API endpoint when it has one, and none otherwise", () => {
    expect(decodeAdvertisement(encodeOwned([1], new Map([[1, 5]]), 'http://sink-2:8080'))).toEqual({
      owned: [1],
      claimedAt: new Map([[1, 5]]),
      endpoint: 'http://sink-2:8080',
    });
    expect(decodeAdvertisement(encodeOwned([1])).endpoint).toBeUndefined();
    expect(decodeAdvertisement(Buffer.from('{"owned":[],"endpoint":7}')).endpoint).toBeUndefined();
  });

  it('assignedIndices takes the union over topics', () => {
    expect(assignedIndices({ a: [4, 1], b: [1, 4, 2] })).toEqual([1, 2, 4]);
    expect(assignedIndices({})).toEqual([]);
  });
});

describe('coPartitionedAssigner (KafkaJS shape, fake cluster metadata)', () => {
  const logged: unknown[] = [];
  const logger = { warn: (...a: unknown[]) => logged.push(a) } as unknown as Logger;
  const clusterWith = (counts: Record<string, number>) =>
    ({
      findTopicPartitionMetadata: (topic: string) => Array.from({ length: counts[topic] ?? 0 }, (_, partitionId) => ({ partitionId })),
    }) as unknown as Cluster;

  /** Members as a broker hands them to the leader: each one's metadata from its own protocol(). */
  function join(cluster: Cluster, topics: string[], owned: Record<string, number[]>): GroupMember[] {
    return Object.entries(owned).map(([memberId, indices]) => {
      const assigner = coPartitionedAssigner(() => indices)({ cluster, logger, groupId: 'g' });
      return { memberId, memberMetadata: assigner.protocol({ topics }).metadata };
    });
  }

  it('gives partition i of every topic to one member, sticky to what members advertised', async () => {
    const cluster = clusterWith({ movies: 6, 'mean-ratings': 6 });
    const topics = ['movies', 'mean-ratings'];
    const assigner = coPartitionedAssigner()({ cluster, logger, groupId: 'g' });
    expect(assigner.name).toBe('CoPartitionedAssigner');
    const members = join(cluster, topics, { m1: [0, 5], m2: [2], m3: [] });
    const decoded = Object.fromEntries(
      (await assigner.assign({ members, topics })).map((a) => [
        a.memberId,
        AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!.assignment,
      ]),
    );
    for (const a of Object.values(decoded)) expect(a.movies).toEqual(a['mean-ratings']);
    expect(decoded.m1!.movies).toEqual([0, 5]);
    expect(decoded.m2!.movies).toContain(2);
    expect(
      Object.values(decoded)
        .flatMap((a) => a.movies!)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('throws naming each topic and its count when the counts differ', async () => {
    const cluster = clusterWith({ movies: 6, 'mean-ratings': 3 });
    const topics = ['movies', 'mean-ratings'];
    const assigner = coPartitionedAssigner()({ cluster, logger, groupId: 'g' });
    await expect(assigner.assign({ members: join(cluster, topics, { m1: [] }), topics })).rejects.toThrow(
      /co-partitioned \(the same partition count\).*movies has 6, mean-ratings has 3 partitions.*Recreate them with the same partition count/,
    );
  });

  it('gives an idle member no topics, and treats an unreadable advertisement as owning nothing (logged)', async () => {
    const cluster = clusterWith({ t: 1 });
    const assigner = coPartitionedAssigner()({ cluster, logger, groupId: 'g' });
    const bad = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: Buffer.from('not json') });
    const members = [...join(cluster, ['t'], { a: [] }), { memberId: 'b', memberMetadata: bad }];
    const out = Object.fromEntries(
      (await assigner.assign({ members, topics: ['t'] })).map((a) => [
        a.memberId,
        AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!.assignment,
      ]),
    );
    expect(out).toEqual({ a: { t: [0] }, b: {} });
    expect(JSON.stringify(logged)).toContain('"memberId":"b"');
  });
});
