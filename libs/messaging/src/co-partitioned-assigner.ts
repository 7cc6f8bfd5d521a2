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
 * An index claimed by two members (possible just after a member was evicted) stays with the first in
 * memberId order; claims outside 0..partitionCount-1 are ignored (the advertisement is only a hint).
 */
export function assignCoPartitioned(
  memberIds: readonly string[],
  ownedByMember: ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>,
  partitionCount: number,
): Map<string, number[]> {
  if (!Number.isInteger(partitionCount) || partitionCount < 0)
    throw new Error(`partition count ${partitionCount} is not a whole number ≥ 0`);
  const members = [...memberIds].sort();
  if (members.length === 0) throw new Error('no members to assign partitions to');
  const dup = members.find((m, i) => i > 0 && members[i - 1] === m);
  if (dup !== undefined) throw new Error(`member ${dup} is listed twice`);
  const ownedOf = (m: string): readonly number[] =>
    (ownedByMember instanceof Map ? ownedByMember.get(m) : (ownedByMember as Readonly<Record<string, readonly number[]>>)[m]) ?? [];

  // Valid, unclaimed advertisements, first claimant (in memberId order) wins.
  const claimed = new Set<number>();
  const claims = new Map<string, number[]>();
  for (const m of members) {
    const mine = [...new Set(ownedOf(m))]
      .filter((i) => Number.isInteger(i) && i >= 0 && i < partitionCount && !claimed.has(i))
      .sort((a, b) => a - b);
    mine.forEach((i) => claimed.add(i));
    claims.set(m, mine);
  }

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

/** What a member advertises in its join metadata: the indices it owns, as JSON (readable in a group dump, room for more fields). */
export function encodeOwned(indices: Iterable<number>): Buffer {
  return Buffer.from(JSON.stringify({ owned: [...indices] }));
}

/** Reads `encodeOwned`'s advertisement; throws on anything else (the caller decides what a bad one means). */
export function decodeOwned(userData: Buffer | null | undefined): number[] {
  if (!userData || userData.length === 0) return [];
  const parsed: unknown = JSON.parse(userData.toString('utf8'));
  const owned = (parsed as { owned?: unknown } | null)?.owned;
  if (!Array.isArray(owned) || !owned.every((i) => Number.isInteger(i))) throw new Error('userData has no "owned" list of whole numbers');
  return owned as number[];
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
export function coPartitionedAssigner(owned: () => Iterable<number> = () => []): PartitionAssigner {
  return ({ cluster, logger }) => ({
    name: NAME,
    version: VERSION,

    async assign({ members, topics }: { members: GroupMember[]; topics: string[] }) {
      const counts = topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).length }));
      const partitionCount = counts[0]?.partitions ?? 0;
      if (counts.some((c) => c.partitions !== partitionCount)) throw coPartitioningError(counts);

      const ownedByMember = new Map<string, number[]>();
      for (const { memberId, memberMetadata } of members) {
        try {
          ownedByMember.set(memberId, decodeOwned(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData));
        } catch (e) {
          // Only a hint for stickiness: the member still gets a fair share, it just may move.
          logger.warn('ignoring an unreadable ownership advertisement', { memberId, error: (e as Error).message });
        }
      }
      const byMember = assignCoPartitioned(
        members.map((m) => m.memberId),
        ownedByMember,
        partitionCount,
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
        metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData: encodeOwned(owned()) }),
      };
    },
  });
}
