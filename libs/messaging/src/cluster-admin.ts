// The admin operations a cluster view polls with (topic sizes, consumer groups and their lag, brokers in
// the metadata), so that nothing outside libs/messaging needs a KafkaJS admin client.
import { AssignerProtocol, type Admin } from './kafkajs';
import type { KafkaClient } from './kafka-types';
import { consumerLag, PartitionLag } from './lag';

export interface TopicSize {
  topic: string;
  partitions: number;
  /** Σ (end − start offset): messages currently held. */
  messages: number;
  endOffsets: number;
}

export interface ConsumerGroupInfo {
  groupId: string;
  /** Stable, Empty, PreparingRebalance, ... from describeGroups, when the group was described. */
  state?: string;
  /** The members and the partitions each holds, when the group was described. */
  members?: GroupMember[];
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  /** Topic → the partitions this member holds, ascending. Empty while the group rebalances. */
  assignment: Record<string, number[]>;
  /** Why the assignment could not be read (a member of a non-consumer group, or bytes KafkaJS cannot decode). */
  assignmentError?: string;
}

export interface GroupMembers {
  groupId: string;
  state: string;
  members: GroupMember[];
}

/**
 * The members of each group and what each holds: the assignment the leader handed out, decoded from
 * describeGroups (KafkaJS returns it as the encoded bytes). Members ordered by client id, then member id.
 */
export async function describeGroupMembers(admin: Admin, groupIds: string[]): Promise<GroupMembers[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups(groupIds);
  return groups.map((g) => ({
    groupId: g.groupId,
    state: g.state,
    members: g.members
      .map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        host: m.clientHost,
        ...decodeAssignment(g.protocolType, m.memberAssignment),
      }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId)),
  }));
}

function decodeAssignment(protocolType: string, bytes: Buffer): Pick<GroupMember, 'assignment' | 'assignmentError'> {
  // Other group types (Kafka Connect, ...) share the API but not the consumer's assignment format.
  if (protocolType !== 'consumer') return { assignment: {}, assignmentError: `protocol type "${protocolType}" is not a consumer group's` };
  try {
    const decoded = bytes.length ? AssignerProtocol.MemberAssignment.decode(bytes) : null;
    const assignment: Record<string, number[]> = {};
    for (const [topic, partitions] of Object.entries(decoded?.assignment ?? {})) assignment[topic] = [...partitions].sort((a, b) => a - b);
    return { assignment };
  } catch (e) {
    return { assignment: {}, assignmentError: `undecodable assignment (${bytes.length} bytes): ${(e as Error).message}` };
  }
}

export interface MetadataBroker {
  nodeId: number;
  /** host:port as the cluster metadata names it. */
  address: string;
}

/** One admin client. Connect once; a failed connect is retried by KafkaJS at the next request. */
export class ClusterAdmin {
  private readonly admin: Admin;

  constructor(kafka: KafkaClient) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  /**
   * Never throws. Call it only when no request is in progress: a KafkaJS admin request after
   * `disconnect()` silently connects again, and that socket keeps the process alive.
   */
  async disconnect(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Sizes of the topics `include` accepts, by name; a topic deleted between list and fetch is left out. */
  async topicSizes(include: (topic: string) => boolean): Promise<TopicSize[]> {
    const out: TopicSize[] = [];
    for (const topic of (await this.admin.listTopics()).filter(include).sort()) {
      const e = await this.admin.fetchTopicOffsets(topic).catch(() => undefined);
      if (!e) continue;
      out.push({
        topic,
        partitions: e.length,
        messages: e.reduce((s, p) => s + Number(p.high) - Number(p.low), 0),
        endOffsets: e.reduce((s, p) => s + Number(p.high), 0),
      });
    }
    return out;
  }

  /** The consumer groups `include` accepts, by id, with their state and members. */
  async consumerGroups(include: (groupId: string) => boolean): Promise<ConsumerGroupInfo[]> {
    const ids = (await this.admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter(include)
      .sort();
    const described = await describeGroupMembers(this.admin, ids);
    return ids.map((groupId) => {
      const d = described.find((x) => x.groupId === groupId);
      return { groupId, state: d?.state, members: d?.members };
    });
  }

  /** Lag of every partition the group has committed offsets for (consumerLag over all its topics). */
  groupLag(groupId: string): Promise<PartitionLag[]> {
    return consumerLag(this.admin, groupId, []);
  }

  /** The brokers in the cluster metadata (KRaft drops fenced brokers from it). */
  async metadataBrokers(): Promise<MetadataBroker[]> {
    const cluster = await this.admin.describeCluster();
    return cluster.brokers.map((b) => ({ nodeId: b.nodeId, address: `${b.host}:${b.port}` }));
  }
}
