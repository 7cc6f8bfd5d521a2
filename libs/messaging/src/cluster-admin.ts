// The admin operations a cluster view polls with (topic sizes, consumer groups and their lag, brokers in
// the metadata), so that nothing outside libs/messaging needs a KafkaJS admin client.
import type { Admin } from './kafkajs';
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

  /** The consumer groups `include` accepts, by id, with their state. */
  async consumerGroups(include: (groupId: string) => boolean): Promise<ConsumerGroupInfo[]> {
    const ids = (await this.admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter(include)
      .sort();
    const described = ids.length ? (await this.admin.describeGroups(ids)).groups : [];
    return ids.map((groupId) => ({ groupId, state: described.find((d) => d.groupId === groupId)?.state }));
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
