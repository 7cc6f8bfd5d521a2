// A KafkaJS partition assigner for consumers that join topics partition by partition (the sink joins
// movies-p with mean-ratings-p): partition i of every subscribed topic goes to one member. KafkaJS's
// round-robin assigner deals the topic-partitions out in one list and so splits them.
import { AssignerProtocol, type GroupMember, type PartitionAssigner } from './kafkajs';

const NAME = 'CoPartitionedAssigner';
const VERSION = 0;

/**
 * Partition indices per member: each member keeps the indices it owned (advertised) as long as the
 * counts stay balanced (they differ by at most 1); the rest go, in ascending order, to the least loaded
 * members that still have room. Members are taken in memberId order, so every leader computes the same.
 * An index claimed by two members (an evicted member coming back still advertises what it held) stays with
 * the one that claimed it last (`claimedAt`, ms since the epoch: the new owner claimed it after the eviction),
 * then with the first in memberId order; claims outside 0..partitionCount-1 are ignored (the advertisement is
 * only a hint).
 */
export function assignCoPartitioned(
  memberIds: readonly string[],
  ownedByMember: ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>,
  partitionCount: number,
  claimedAt: ReadonlyMap<string, ReadonlyMap<number, number>> = new Map(),
): Map<string, number[]> {
  if (!Number.isInteger(partitionCount) || partitionCount < 0)
    throw new Error(`partition count ${partitionCount} is not a whole number ≥ 0`);
  const members = [...memberIds].sort();
  if (members.length === 0) throw new Error('no members to assign partitions to');
  const dup = members.find((m, i) => i > 0 && members[i - 1] === m);
  if (dup !== undefined) throw new Error(`member ${dup} is listed twice`);
  const ownedOf = (m: string): readonly number[] =>
    (ownedByMember instanceof Map ? ownedByMember.get(m) : (ownedByMember as Readonly<Record<string, readonly number[]>>)[m]) ?? [];

  // Valid advertisements; an index advertised twice goes to the latest claim, then to memberId order.
  const winner = new Map<number, { member: string; at: number }>();
  for (const m of members) {
    for (const i of new Set(ownedOf(m))) {
      if (!Number.isInteger(i) || i < 0 || i >= partitionCount) continue;
      const at = claimedAt.get(m)?.get(i) ?? 0;
      const cur = winner.get(i);
      if (!cur || at > cur.at) winner.set(i, { member: m, at });
    }
  }
  const claims = new Map<string, number[]>(members.map((m) => [m, []]));
  for (const [i, { member }] of winner) claims.get(member)!.push(i);
  for (const mine of claims.values()) mine.sort((a, b) => a - b);

  // Capacities: floor(P/N) each, one more for P mod N members. The extra slots go to the members that
  // claim the most (ties: memberId order), which keeps the most indices in place.
  const base = Math.floor(partitionCount / members.length);
  const extra = partitionCount % members.length;
  const capacity = new Map(members.map((m) => [m, base]));
  [...members]
    .sort((a, b) => claims.get(b)!.length - claims.get(a)!.length || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, extra)
    .forEach((m) => capacity.set(m, base + 1));

  const result = new Map<string, number[]>();
  const kept = new Set<number>();
  for (const m of members) {
    const keep = claims.get(m)!.slice(0, capacity.get(m)!);
    keep.forEach((i) => kept.add(i));
    result.set(m, keep);
  }
  for (let i = 0; i < partitionCount; i++) {
    if (kept.has(i)) continue;
    let target: string | undefined;
    for (const m of members) {
      const n = result.get(m)!.length;
      if (n < capacity.get(m)! && (target === undefined || n < result.get(target)!.length)) target = m;
    }
    result.get(target!)!.push(i);
  }
  for (const indices of result.values()) indices.sort((a, b) => a - b);
  return result;
}

/** The partition indices of a member's assignment (e.g. a GROUP_JOIN's `memberAssignment`), all topics together, ascending. */
export function assignedIndices(assignment: Readonly<Record<string, readonly number[]>>): number[] {
  return [...new Set(Object.values(assignment).flat())].sort((a, b) => a - b);
}

/**
 * What a member advertises in its join metadata: the indices it owns, when it claimed each (ms since the
 * epoch) and, for a service with an API, where that API is reached (`endpoint`, a base URL), as JSON (readable
 * in a group dump, room for more fields). Any member reads the others' through describeGroups (group-directory.ts).
 */
export function encodeOwned(indices: Iterable<number>, claimedAt: ReadonlyMap<number, number> = new Map(), endpoint?: string): Buffer {
  const owned = [...indices];
  const at = owned.filter((i) => claimedAt.has(i)).map((i) => claimedAt.get(i));
  return Buffer.from(
    JSON.stringify({ owned, ...(at.length === owned.length && owned.length ? { claimedAt: at } : {}), ...(endpoint ? { endpoint } : {}) }),
  );
}

/** Reads `encodeOwned`'s advertisement; throws on anything else (the caller decides what a bad one means). */
export function decodeOwned(userData: Buffer | null | undefined): number[] {
  return decodeAdvertisement(userData).owned;
}

/** The indices, when advertised when each was claimed, and the member's API endpoint if it has one. */
export function decodeAdvertisement(userData: Buffer | null | undefined): {
  owned: number[];
  claimedAt: Map<number, number>;
  endpoint?: string;
} {
  if (!userData || userData.length === 0) return { owned: [], claimedAt: new Map() };
  const parsed = JSON.parse(userData.toString('utf8')) as { owned?: unknown; claimedAt?: unknown; endpoint?: unknown } | null;
  const owned = parsed?.owned;
  if (!Array.isArray(owned) || !owned.every((i) => Number.isInteger(i))) throw new Error('userData has no "owned" list of whole numbers');
  const at = parsed?.claimedAt;
  const claimedAt = new Map<number, number>();
  if (Array.isArray(at) && at.length === owned.length && at.every((t) => Number.isFinite(t)))
    owned.forEach((i: number, k) => claimedAt.set(i, at[k] as number));
  const endpoint = typeof parsed?.endpoint === 'string' && parsed.endpoint ? parsed.endpoint : undefined;
  return { owned: owned as number[], claimedAt, ...(endpoint ? { endpoint } : {}) };
}

/** The message of the error `assign` throws when the subscribed topics have different partition counts. */
export function coPartitioningError(counts: ReadonlyArray<{ topic: string; partitions: number }>): Error {
  const list = counts.map((c) => `${c.topic} has ${c.partitions}`).join(', ');
  return new Error(
    `topics must be co-partitioned (the same partition count) to be consumed together: ${list} partitions. ` +
      'Recreate them with the same partition count.',
  );
}

/**
 * The assigner, for `kafka.consumer({ partitionAssigners: [coPartitionedAssigner(() => owned)] })`.
 * `owned` returns the partition indices this member holds now (e.g. from its last GROUP_JOIN, see
 * `assignedIndices`, or the slices whose state it has on disk after a restart); it is read at every join and
 * advertised in the join metadata. Why advertised and not remembered by the assigner: only the leader runs
 * `assign`, the leader changes, and JoinGroup tells it nothing about the previous generation's assignment,
 * so each member must say what it holds (as Java's sticky assignors do). Without `owned` there is no
 * stickiness, only co-location and balance.
 */
export function coPartitionedAssigner(
  owned: () => Iterable<number> = () => [],
  claimedAt: () => ReadonlyMap<number, number> = () => new Map(),
  endpoint: () => string | undefined = () => undefined,
): PartitionAssigner {
  return ({ cluster, logger }) => ({
    name: NAME,
    version: VERSION,

    async assign({ members, topics }: { members: GroupMember[]; topics: string[] }) {
      const counts = topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).length }));
      const partitionCount = counts[0]?.partitions ?? 0;
      if (counts.some((c) => c.partitions !== partitionCount)) throw coPartitioningError(counts);

      const ownedByMember = new Map<string, number[]>();
      const claimedAtByMember = new Map<string, Map<number, number>>();
      for (const { memberId, memberMetadata } of members) {
        try {
          const ad = decodeAdvertisement(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData);
          ownedByMember.set(memberId, ad.owned);
          claimedAtByMember.set(memberId, ad.claimedAt);
        } catch (e) {
          // Only a hint for stickiness: the member still gets a fair share, it just may move.
          logger.warn('ignoring an unreadable ownership advertisement', { memberId, error: (e as Error).message });
        }
      }
      const byMember = assignCoPartitioned(
        members.map((m) => m.memberId),
        ownedByMember,
        partitionCount,
        claimedAtByMember,
      );
      return [...byMember].map(([memberId, indices]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: VERSION,
          // An idle member (more members than partitions) gets no topics at all rather than empty lists.
          assignment: indices.length ? Object.fromEntries(topics.map((t) => [t, indices])) : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },

    protocol({ topics }: { topics: string[] }) {
      return {
        name: NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: encodeOwned(owned(), claimedAt(), endpoint()),
        }),
      };
    },
  });
}
