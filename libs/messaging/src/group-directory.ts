// Which member of a consumer group serves which partition, and where its API is: read from the group itself
// (describeGroups: each member's join metadata and assignment), as Kafka Streams' metadata is, so no topic or
// registry of its own is needed. The co-partitioned assigner puts the API's URL in the join metadata.
import { AssignerProtocol, type Admin } from './kafkajs';
import { decodeAdvertisement } from './co-partitioned-assigner';

export interface GroupMemberView {
  memberId: string;
  /** The member's API base URL; undefined for a member that advertises none (or unreadable metadata). */
  endpoint?: string;
  /** Partition indices assigned to it (the same for every co-partitioned topic). */
  partitions: number[];
}

export interface GroupView {
  /** The group's state as the coordinator says: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead. */
  state: string;
  members: GroupMemberView[];
  /** Partition index → the endpoint of the member assigned it (members without an endpoint left out). */
  owners: Map<number, string>;
  /** When it was read (ms since the epoch). */
  readAt: number;
}

/** Reads the group's members, their endpoints and assignments once. */
export async function describeGroup(admin: Pick<Admin, 'describeGroups'>, groupId: string): Promise<GroupView> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  const members: GroupMemberView[] = [];
  const owners = new Map<number, string>();
  for (const m of group?.members ?? []) {
    let endpoint: string | undefined;
    try {
      endpoint = decodeAdvertisement(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData).endpoint;
    } catch {
      // another assigner's or an old member's metadata: it serves no API we can reach
    }
    const partitions = new Set<number>();
    try {
      const assignment = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment : undefined;
      for (const list of Object.values(assignment ?? {})) for (const p of list) partitions.add(p);
    } catch {
      // no assignment yet (a rebalance in progress)
    }
    const sorted = [...partitions].sort((a, b) => a - b);
    members.push({ memberId: m.memberId, ...(endpoint ? { endpoint } : {}), partitions: sorted });
    if (endpoint) for (const p of sorted) owners.set(p, endpoint);
  }
  return { state: group?.state ?? 'Dead', members, owners, readAt: Date.now() };
}

/**
 * describeGroup, cached for `maxAgeMs` and read once for any number of concurrent callers; `invalidate` after
 * an owner answered that it no longer serves a partition, so the next caller reads the group anew.
 */
export class GroupDirectory {
  private cached?: GroupView;
  private reading?: Promise<GroupView>;

  constructor(
    private readonly admin: Pick<Admin, 'describeGroups'>,
    private readonly groupId: string,
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  async view(): Promise<GroupView> {
    if (this.cached && this.now() - this.cached.readAt < this.maxAgeMs) return this.cached;
    this.reading ??= describeGroup(this.admin, this.groupId)
      .then((v) => (this.cached = { ...v, readAt: this.now() }))
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
