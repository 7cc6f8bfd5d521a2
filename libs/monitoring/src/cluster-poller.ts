// Polls the cluster every few seconds: lag per consumer group and partition (committed vs end offsets),
// group status and members, topic sizes and which brokers answer. The admin requests are libs/messaging's ClusterAdmin.
import { connect } from 'node:net';
import { ClusterAdmin, GroupMember, TopicSize } from '@movie-stream/messaging';
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

export interface GroupView extends GroupEvaluation {
  groupId: string;
  state?: string;
  /** Who is in the group and which partitions each holds (none when nobody consumes; no partitions while it rebalances). */
  members: GroupMember[];
  /** [poll time, total lag] over the retention. */
  lagHistory: [number, number][];
}

/** The latest poll of the cluster (not to be confused with the storable frame's saved snapshots). */
export interface ClusterStatus {
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
  admin: ClusterAdmin;
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
  latest: ClusterStatus = { t: 0, groups: [], topics: [], brokers: [] };
  private running?: Promise<ClusterStatus>;
  private stopped = false;

  constructor(private readonly opts: ClusterPollerOptions) {}

  private inScope(name: string): boolean {
    return !name.startsWith('__') && (!this.opts.scope || name.startsWith(this.opts.scope));
  }

  /** One poll; concurrent calls share the poll in progress (a slow cluster must not pile polls up). */
  poll(): Promise<ClusterStatus> {
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

  private async pollNow(): Promise<ClusterStatus> {
    const { admin } = this.opts;
    const now = (this.opts.now ?? Date.now)();
    const brokers = await this.brokerStates();
    // A stop waits for the poll in progress (see stop()), and each admin call may retry for tens of seconds on
    // an unsettled cluster: a stopped poll ends at its next step instead of making every call.
    if (this.stopped) return this.latest;
    let error: string | undefined;
    const topics: TopicSize[] = [];
    const groups: GroupView[] = [];
    try {
      topics.push(...(await admin.topicSizes((t) => this.inScope(t))));
      if (this.stopped) return this.latest;
      for (const { groupId, state, members } of await admin.consumerGroups((g) => this.inScope(g) && !this.opts.ignoreGroup?.(g))) {
        if (this.stopped) return this.latest;
        const partitions: PartitionOffsets[] = await admin.groupLag(groupId);
        if (partitions.length === 0) continue; // a group that never committed has no lag to show
        const history = this.remember(groupId, { t: now, partitions, state });
        const evaluation = groupStatus(history, this.opts.rules ?? DEFAULT_RULES);
        const lagHistory = this.lagHistory.get(groupId) ?? [];
        lagHistory.push([now, evaluation.totalLag]);
        this.trim(lagHistory, now);
        this.lagHistory.set(groupId, lagHistory);
        groups.push({ groupId, state, members: members ?? [], ...evaluation, lagHistory });
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
      for (const { address, nodeId } of await this.opts.admin.metadataBrokers()) {
        const cur = out.get(address) ?? { address, up: false, inMetadata: false, configured: false };
        out.set(address, { ...cur, nodeId, inMetadata: true });
      }
    } catch {
      // No broker answered: the TCP probes below say which are down.
    }
    await Promise.all([...out.values()].map(async (b) => (b.up = await tcpAnswers(b.address))));
    return [...out.values()].sort((a, b) => a.address.localeCompare(b.address));
  }
}
