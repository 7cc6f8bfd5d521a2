// Reading the meta topics (<prefix>.published, <prefix>.consumed): live for the monitor, as a bounded
// range for reports and experiments. The Kafka side is libs/messaging's topic reader; this is decoding.
import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { followTopics, KafkaClient, readTopicRange, TopicFollower, TopicMessage } from '@movie-stream/messaging';
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
function tryDecode(m: TopicMessage, onUndecodable?: (u: UndecodableMeta) => void): MetaPoint | undefined {
  if (!m.value) return undefined;
  try {
    return decodeMetaReport(m.value);
  } catch (e) {
    onUndecodable?.({ topic: m.topic, partition: m.partition, offset: m.offset, error: (e as Error).message });
    return undefined;
  }
}

export function decodeMetaReport(value: Buffer): MetaPoint {
  const m = fromBinary(MetaReportSchema, value);
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
 * Uses a throw-away consumer group that never commits.
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
      if (p) out.push(p);
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
      if (p) opts.onReport(p);
    },
  });
}
