// Reading the meta topics (<prefix>.published, <prefix>.consumed): live for the monitor, as a bounded
// range for reports and experiments.
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { retryForever, sleep } from '@movie-stream/messaging';
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
 * stop a reader (a throwing eachBatch makes KafkaJS re-deliver the batch, so its valid reports would be
 * counted again, in a loop).
 */
function tryDecode(m: { value: Buffer | null; offset: string }, at: { topic: string; partition: number }, onUndecodable?: (u: UndecodableMeta) => void): MetaPoint | undefined {
  if (!m.value) return undefined;
  try {
    return decodeMetaReport(m.value);
  } catch (e) {
    onUndecodable?.({ ...at, offset: m.offset, error: (e as Error).message });
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

/** The meta topics of `prefix` that exist now. */
export async function existingMetaTopics(admin: Admin, prefix: string): Promise<string[]> {
  const all = new Set(await admin.listTopics());
  return metaTopics(prefix).filter((t) => all.has(t));
}

/** Per partition: the first offset at or after `sinceMs` (0 = the start offset) and the end offset now. */
async function offsetRange(admin: Admin, topic: string, sinceMs: number): Promise<{ partition: number; from: string; end: string }[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const starts = sinceMs > 0 ? await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs) : ends.map((e) => ({ partition: e.partition, offset: e.low }));
  return ends.map((e) => {
    const s = starts.find((x) => x.partition === e.partition);
    // -1 from a timestamp lookup means "nothing that new": start at the end.
    const from = s && Number(s.offset) >= 0 ? s.offset : e.high;
    return { partition: e.partition, from, end: e.high };
  });
}

/**
 * Reads every meta report written since `sinceMs` up to the end offsets at call time, then stops.
 * Uses a throw-away consumer group that never commits.
 */
export async function readMetaReports(kafka: Kafka, prefix: string, sinceMs = 0, timeoutMs = 120_000, onUndecodable?: (u: UndecodableMeta) => void): Promise<MetaPoint[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ranges = new Map<string, { partition: number; from: string; end: string }[]>();
  try {
    for (const topic of await existingMetaTopics(admin, prefix)) ranges.set(topic, await offsetRange(admin, topic, sinceMs));
  } finally {
    await admin.disconnect();
  }
  const pending = new Map<string, number>();
  for (const [topic, parts] of ranges) for (const p of parts) if (Number(p.end) > Number(p.from)) pending.set(`${topic}:${p.partition}`, Number(p.end));
  const out: MetaPoint[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `movie-stream.report-${process.pid}-${Date.now()}`, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...ranges.keys()], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${prefix}.* took more than ${timeoutMs / 1000} s`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const key = `${batch.topic}:${batch.partition}`;
            const end = pending.get(key);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (Number(m.offset) >= end) break;
              const p = tryDecode(m, batch, onUndecodable);
              if (p) out.push(p);
            }
            if (Number(batch.lastOffset()) + 1 >= end) pending.delete(key);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
      for (const [topic, parts] of ranges) for (const p of parts) consumer.seek({ topic, partition: p.partition, offset: p.from });
    });
  } finally {
    // The group never committed: the broker forgets it once the session ends.
    await consumer.disconnect();
  }
  return out;
}

export interface FollowMetaOptions {
  kafka: Kafka;
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
 * topics to exist (a pipeline creates them after the monitor may have started). Never commits: every
 * start re-reads its history window. Any failure while setting up (broker not up yet, a just-created
 * topic whose leader is not elected yet) is retried with backoff until `signal` aborts: a monitor that
 * gave up here would show no throughput for the rest of its life.
 */
export async function followMetaReports(opts: FollowMetaOptions): Promise<Consumer | undefined> {
  const warn = opts.warn ?? opts.log ?? (() => undefined);
  try {
    return await retryForever(`following ${metaTopics(opts.prefix).join(' and ')}`, () => followOnce(opts), { warn }, opts.signal, opts.retryDelayMs);
  } catch (e) {
    if (opts.signal.aborted) return undefined;
    throw e;
  }
}

async function followOnce(opts: FollowMetaOptions): Promise<Consumer> {
  const warn = opts.warn ?? opts.log;
  const undecodable = (u: UndecodableMeta) => {
    warn?.(`skipped an undecodable meta report at ${u.topic}[${u.partition}]@${u.offset}: ${u.error}`);
    opts.onUndecodable?.(u);
  };
  const admin = opts.kafka.admin();
  let consumer: Consumer | undefined;
  try {
    await admin.connect();
    let topics: string[] = [];
    for (let waited = 0; ; waited++) {
      topics = await existingMetaTopics(admin, opts.prefix).catch(() => []);
      if (topics.length === 2) break;
      if (waited === 0) opts.log?.(`waiting for ${metaTopics(opts.prefix).join(' and ')} to exist`);
      await sleep(500, opts.signal);
    }
    const ranges = new Map<string, { partition: number; from: string }[]>();
    for (const t of topics) ranges.set(t, await offsetRange(admin, t, opts.sinceMs));
    consumer = opts.kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const p = tryDecode(m, batch, undecodable);
          if (p) opts.onReport(p);
        }
      },
    });
    for (const [topic, parts] of ranges) for (const p of parts) consumer.seek({ topic, partition: p.partition, offset: p.from });
    return consumer;
  } catch (e) {
    await consumer?.disconnect().catch(() => undefined);
    throw e;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
