// Polls the cluster every few seconds: lag per consumer group and partition (committed vs end offsets),
// group status, topic sizes and which brokers answer.
import { connect } from 'node:net';
import type { Admin } from 'kafkajs';
import { DEFAULT_RULES, GroupEvaluation, groupStatus, LagSample, PartitionOffsets, StatusRules } from './lag-status';

export interface BrokerState {
  /** host:port as configured or as the cluster metadata names it. */
  address: string;
  nodeId?: number;
  /** Accepts TCP connections. */
  up: boolean;
  /** Listed by describeCluster (KRaft drops fenced brokers from the metadata). */
  inMetadata: boolean;
  configured: boolean;
}

export interface TopicSize {
  topic: string;
  partitions: number;
  /** Σ (end − start offset): messages currently held. */
  messages: number;
  endOffsets: number;
}

export interface GroupView extends GroupEvaluation {
  groupId: string;
  state?: string;
  /** [poll time, total lag] over the retention. */
  lagHistory: [number, number][];
}

export interface ClusterSnapshot {
  t: number;
  groups: GroupView[];
  topics: TopicSize[];
  brokers: BrokerState[];
  error?: string;
}

/** Resolves true when host:port accepts a TCP connection within `timeoutMs`. */
export function tcpAnswers(address: string, timeoutMs = 1000): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface ClusterPollerOptions {
  admin: Admin;
  brokers: string[];
  /** Only groups and topics starting with this (e.g. a pipeline run's `<runId>.`). */
  scope?: string;
  /** Groups never shown (the monitor's own). */
  ignoreGroup?: (groupId: string) => boolean;
  retentionMs?: number;
  rules?: StatusRules;
  now?: () => number;
}

export class ClusterPoller {
  private readonly samples = new Map<string, LagSample[]>();
  private readonly lagHistory = new Map<string, [number, number][]>();
  latest: ClusterSnapshot = { t: 0, groups: [], topics: [], brokers: [] };
  private running?: Promise<ClusterSnapshot>;
  private stopped = false;

  constructor(private readonly opts: ClusterPollerOptions) {}

  private inScope(name: string): boolean {
    return !name.startsWith('__') && (!this.opts.scope || name.startsWith(this.opts.scope));
  }

  /** One poll; concurrent calls share the poll in progress (a slow cluster must not pile polls up). */
  poll(): Promise<ClusterSnapshot> {
    if (this.stopped) return Promise.resolve(this.latest);
    this.running ??= this.pollNow().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * No more polls; resolves when the one in progress is over. Disconnect the admin only after this: a
   * KafkaJS admin request after `disconnect()` silently connects again, and that socket keeps the
   * process alive for ever (`npm start` once hung after its summary that way).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async pollNow(): Promise<ClusterSnapshot> {
    const { admin } = this.opts;
    const now = (this.opts.now ?? Date.now)();
    const brokers = await this.brokerStates();
    let error: string | undefined;
    const topics: TopicSize[] = [];
    const groups: GroupView[] = [];
    try {
      const ends = new Map<string, { partition: number; high: string; low: string }[]>();
      const endsOf = async (topic: string) => {
        let e = ends.get(topic);
        if (!e) {
          e = await admin.fetchTopicOffsets(topic);
          ends.set(topic, e);
        }
        return e;
      };
      for (const topic of (await admin.listTopics()).filter((t) => this.inScope(t)).sort()) {
        const e = await endsOf(topic).catch(() => undefined);
        if (!e) continue; // deleted between list and fetch
        topics.push({
          topic, partitions: e.length,
          messages: e.reduce((s, p) => s + Number(p.high) - Number(p.low), 0),
          endOffsets: e.reduce((s, p) => s + Number(p.high), 0),
        });
      }
      const ids = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => this.inScope(g) && !this.opts.ignoreGroup?.(g))
        .sort();
      const described = ids.length ? (await admin.describeGroups(ids)).groups : [];
      for (const groupId of ids) {
        const state = described.find((d) => d.groupId === groupId)?.state;
        const committed = await admin.fetchOffsets({ groupId });
        const partitions: PartitionOffsets[] = [];
        for (const t of committed) {
          const e = await endsOf(t.topic).catch(() => undefined);
          if (!e) continue;
          for (const p of t.partitions) {
            const off = e.find((x) => x.partition === p.partition);
            const end = Number(off?.high ?? 0);
            const c = Number(p.offset) < 0 ? Number(off?.low ?? 0) : Number(p.offset);
            partitions.push({ topic: t.topic, partition: p.partition, committed: c, end, lag: Math.max(0, end - c) });
          }
        }
        if (partitions.length === 0) continue; // a group that never committed has no lag to show
        const history = this.remember(groupId, { t: now, partitions, state });
        const evaluation = groupStatus(history, this.opts.rules ?? DEFAULT_RULES);
        const lagHistory = this.lagHistory.get(groupId) ?? [];
        lagHistory.push([now, evaluation.totalLag]);
        this.trim(lagHistory, now);
        this.lagHistory.set(groupId, lagHistory);
        groups.push({ groupId, state, ...evaluation, lagHistory });
      }
    } catch (e) {
      error = (e as Error).message;
    }
    // A group that vanished (deleted, or out of scope) keeps its last view only while it has history.
    this.latest = { t: now, groups, topics, brokers, error };
    return this.latest;
  }

  private remember(groupId: string, s: LagSample): LagSample[] {
    const rules = this.opts.rules ?? DEFAULT_RULES;
    const list = this.samples.get(groupId) ?? [];
    list.push(s);
    // Enough history for the STOPPED rule, no more.
    while (list.length > 2 && list[1].t <= s.t - rules.stopAfterMs) list.shift();
    this.samples.set(groupId, list);
    return list;
  }

  private trim(h: [number, number][], now: number): void {
    const cutoff = now - (this.opts.retentionMs ?? 30 * 60_000);
    while (h.length && h[0][0] < cutoff) h.shift();
  }

  private async brokerStates(): Promise<BrokerState[]> {
    const out = new Map<string, BrokerState>();
    for (const b of this.opts.brokers) out.set(b, { address: b, up: false, inMetadata: false, configured: true });
    try {
      const cluster = await this.opts.admin.describeCluster();
      for (const b of cluster.brokers) {
        const address = `${b.host}:${b.port}`;
        const cur = out.get(address) ?? { address, up: false, inMetadata: false, configured: false };
        out.set(address, { ...cur, nodeId: b.nodeId, inMetadata: true });
      }
    } catch {
      // No broker answered: the TCP probes below say which are down.
    }
    await Promise.all([...out.values()].map(async (b) => (b.up = await tcpAnswers(b.address))));
    return [...out.values()].sort((a, b) => a.address.localeCompare(b.address));
  }
}
