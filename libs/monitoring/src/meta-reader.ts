// Reading the meta topics (<prefix>.published, <prefix>.consumed): live for the monitor, as a bounded
// range for reports and experiments. The Kafka side is libs/messaging's topic reader; this is decoding.
import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { followTopics, KafkaClient, readTopicRange, TopicFollower, TopicMessage } from '@movie-stream/messaging';
import type { RestoreEvent } from './restores';
import type { MetaPoint } from './series';

export const metaTopics = (prefix: string) => [`${prefix}.published`, `${prefix}.consumed`];

/** Where an undecodable meta message was, and why it could not be decoded. */
export interface UndecodableMeta {
  topic: string;
  partition: number;
  offset: string;
  error: string;
}

/**
 * Decodes one message's value, or tells `onUndecodable` and returns undefined: one bad message must not
 * stop a reader (a throwing batch makes KafkaJS re-deliver it, so its valid reports would be counted
 * again, in a loop).
 */
function tryDecode(m: TopicMessage, onUndecodable?: (u: UndecodableMeta) => void): MetaPoint | RestoreEvent | undefined {
  if (!m.value) return undefined;
  try {
    return decodeMetaReport(m.value);
  } catch (e) {
    onUndecodable?.({ topic: m.topic, partition: m.partition, offset: m.offset, error: (e as Error).message });
    return undefined;
  }
}

/** A restore report, not a count of messages: it never goes into the totals. */
export const isRestore = (p: MetaPoint | RestoreEvent): p is RestoreEvent =>
  p.action === 'restore-started' || p.action === 'restore-finished';

/** One meta message: a count of messages published or consumed in a window, or a partition restore. */
export function decodeMetaReport(value: Buffer): MetaPoint | RestoreEvent {
  const m = fromBinary(MetaReportSchema, value);
  if (m.action === MetaReport_Action.RESTORE_STARTED || m.action === MetaReport_Action.RESTORE_FINISHED) {
    const r = m.restore;
    if (!r) throw new Error(`a restore report (action ${MetaReport_Action[m.action]}) without its restore details`);
    const finished = m.action === MetaReport_Action.RESTORE_FINISHED;
    return {
      action: finished ? 'restore-finished' : 'restore-started',
      service: m.service,
      instanceId: m.instanceId,
      groupId: r.groupId,
      topic: m.topic,
      partition: r.partition,
      startedMs: Number(m.windowStartMs),
      ...(finished
        ? {
            finishedMs: Number(m.windowEndMs),
            source: r.source,
            recordsRead: Number(r.recordsRead),
            rowsRestored: Number(r.rowsRestored),
            ms: Number(r.durationMs),
          }
        : {}),
    };
  }
  // Unspecified counts as published, as before there were other actions.
  if (m.action !== MetaReport_Action.PUBLISHED && m.action !== MetaReport_Action.CONSUMED && m.action !== MetaReport_Action.UNSPECIFIED)
    throw new Error(`unknown action ${m.action as number}`);
  return {
    service: m.service,
    instanceId: m.instanceId,
    action: m.action === MetaReport_Action.CONSUMED ? 'consumed' : 'published',
    topic: m.topic,
    windowStartMs: Number(m.windowStartMs),
    windowEndMs: Number(m.windowEndMs),
    count: Number(m.count),
    bytes: Number(m.bytes),
  };
}

/**
 * Reads every meta report written since `sinceMs` up to the end offsets at call time, then stops.
 * Uses a throw-away consumer group that never commits. Counts only: restore reports are left out.
 */
export async function readMetaReports(
  kafka: KafkaClient,
  prefix: string,
  sinceMs = 0,
  timeoutMs = 120_000,
  onUndecodable?: (u: UndecodableMeta) => void,
): Promise<MetaPoint[]> {
  const out: MetaPoint[] = [];
  await readTopicRange(kafka, {
    topics: metaTopics(prefix),
    sinceMs,
    timeoutMs,
    what: `${prefix}.*`,
    groupId: `movie-stream.report-${process.pid}-${Date.now()}`,
    onMessage: (m) => {
      const p = tryDecode(m, onUndecodable);
      if (p && !isRestore(p)) out.push(p);
    },
  });
  return out;
}

export interface FollowMetaOptions {
  kafka: KafkaClient;
  prefix: string;
  sinceMs: number;
  groupId: string;
  onReport: (p: MetaPoint) => void;
  /** Called for each restore report (they are not counts: never passed to `onReport`). */
  onRestore?: (r: RestoreEvent) => void;
  /** Called once per message that cannot be decoded (it is skipped); default: `warn` it. */
  onUndecodable?: (u: UndecodableMeta) => void;
  signal: AbortSignal;
  log?: (msg: string) => void;
  /** Where failed attempts are reported; default `log`. */
  warn?: (msg: string) => void;
  /** Delay before retry n (1-based); default exponential backoff with jitter, 0.5 s up to 10 s. */
  retryDelayMs?: (attempt: number) => number;
}

/**
 * Follows the meta topics live from `sinceMs` on, calling `onReport` for each report. Waits for the
 * topics to exist and retries any failure while setting up until `signal` aborts (followTopics). Never
 * commits: every start re-reads its history window.
 */
export function followMetaReports(opts: FollowMetaOptions): Promise<TopicFollower | undefined> {
  const warn = opts.warn ?? opts.log;
  const undecodable = (u: UndecodableMeta) => {
    warn?.(`skipped an undecodable meta report at ${u.topic}[${u.partition}]@${u.offset}: ${u.error}`);
    opts.onUndecodable?.(u);
  };
  return followTopics(opts.kafka, {
    topics: metaTopics(opts.prefix),
    sinceMs: opts.sinceMs,
    groupId: opts.groupId,
    signal: opts.signal,
    log: opts.log,
    warn: opts.warn,
    retryDelayMs: opts.retryDelayMs,
    onMessage: (m) => {
      const p = tryDecode(m, undecodable);
      if (!p) return;
      if (isRestore(p)) opts.onRestore?.(p);
      else opts.onReport(p);
    },
  });
}
