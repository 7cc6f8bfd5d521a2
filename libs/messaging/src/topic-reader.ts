// Reading whole topics from a point in time on, without committing: as a bounded range (up to the end
// offsets at call time) or live. The meta topics' readers (libs/monitoring) are built on these.
import type { Admin, Consumer, Kafka } from './kafkajs';
import { retryForever, sleep } from './kafka-client';

/** One message as read: where it was and its value. */
export interface TopicMessage {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
}

/** What a live reader returns: stop it (never throws). */
export interface TopicFollower {
  disconnect(): Promise<void>;
}

/** Those of `topics` that exist now. */
async function existingTopics(admin: Admin, topics: string[]): Promise<string[]> {
  const all = new Set(await admin.listTopics());
  return topics.filter((t) => all.has(t));
}

/** Per partition: the first offset at or after `sinceMs` (0 = the start offset) and the end offset now. */
async function offsetRange(admin: Admin, topic: string, sinceMs: number): Promise<{ partition: number; from: string; end: string }[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const starts =
    sinceMs > 0 ? await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs) : ends.map((e) => ({ partition: e.partition, offset: e.low }));
  return ends.map((e) => {
    const s = starts.find((x) => x.partition === e.partition);
    // -1 from a timestamp lookup means "nothing that new": start at the end.
    const from = s && Number(s.offset) >= 0 ? s.offset : e.high;
    return { partition: e.partition, from, end: e.high };
  });
}

export interface ReadTopicRangeOptions {
  /** Read those that exist; a missing one is no error (nothing written yet). */
  topics: string[];
  sinceMs?: number;
  timeoutMs?: number;
  /** A throw-away group that never commits (the broker forgets it once the session ends). */
  groupId: string;
  /** Named in the timeout error. */
  what: string;
  /** Must not throw: a throwing batch is re-delivered by KafkaJS, and its messages counted again. */
  onMessage: (m: TopicMessage) => void;
}

/** Reads every message written since `sinceMs` up to the end offsets at call time, then stops. */
export async function readTopicRange(kafka: Kafka, opts: ReadTopicRangeOptions): Promise<void> {
  const sinceMs = opts.sinceMs ?? 0;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const admin = kafka.admin();
  await admin.connect();
  const ranges = new Map<string, { partition: number; from: string; end: string }[]>();
  try {
    for (const topic of await existingTopics(admin, opts.topics)) ranges.set(topic, await offsetRange(admin, topic, sinceMs));
  } finally {
    await admin.disconnect();
  }
  const pending = new Map<string, number>();
  for (const [topic, parts] of ranges)
    for (const p of parts) if (Number(p.end) > Number(p.from)) pending.set(`${topic}:${p.partition}`, Number(p.end));
  if (pending.size === 0) return;
  const consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...ranges.keys()], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${opts.what} took more than ${timeoutMs / 1000} s`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const key = `${batch.topic}:${batch.partition}`;
            const end = pending.get(key);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (Number(m.offset) >= end) break;
              opts.onMessage({ topic: batch.topic, partition: batch.partition, offset: m.offset, value: m.value });
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
    await consumer.disconnect();
  }
}

export interface FollowTopicsOptions {
  /** Waited for until all exist (a pipeline may create them after the reader started). */
  topics: string[];
  sinceMs: number;
  /** Never commits: every start re-reads from `sinceMs`. */
  groupId: string;
  /** Must not throw (see ReadTopicRangeOptions.onMessage). */
  onMessage: (m: TopicMessage) => void;
  signal: AbortSignal;
  log?: (msg: string) => void;
  /** Where failed attempts are reported; default `log`. */
  warn?: (msg: string) => void;
  /** Delay before retry n (1-based); default exponential backoff with jitter, 0.5 s up to 10 s. */
  retryDelayMs?: (attempt: number) => number;
}

/**
 * Follows `topics` live from `sinceMs` on. Any failure while setting up (broker not up yet, a just-created
 * topic whose leader is not elected yet) is retried with backoff until `signal` aborts (then undefined):
 * a reader that gave up here would miss everything for the rest of its life.
 */
export async function followTopics(kafka: Kafka, opts: FollowTopicsOptions): Promise<TopicFollower | undefined> {
  const warn = opts.warn ?? opts.log ?? (() => undefined);
  try {
    const consumer = await retryForever(
      `following ${opts.topics.join(' and ')}`,
      () => followOnce(kafka, opts),
      { warn },
      opts.signal,
      opts.retryDelayMs,
    );
    return { disconnect: () => consumer.disconnect().catch(() => undefined) };
  } catch (e) {
    if (opts.signal.aborted) return undefined;
    throw e;
  }
}

async function followOnce(kafka: Kafka, opts: FollowTopicsOptions): Promise<Consumer> {
  const admin = kafka.admin();
  let consumer: Consumer | undefined;
  try {
    await admin.connect();
    let topics: string[] = [];
    for (let waited = 0; ; waited++) {
      topics = await existingTopics(admin, opts.topics).catch(() => []);
      if (topics.length === opts.topics.length) break;
      if (waited === 0) opts.log?.(`waiting for ${opts.topics.join(' and ')} to exist`);
      await sleep(500, opts.signal);
    }
    const ranges = new Map<string, { partition: number; from: string }[]>();
    for (const t of topics) ranges.set(t, await offsetRange(admin, t, opts.sinceMs));
    consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages)
          opts.onMessage({ topic: batch.topic, partition: batch.partition, offset: m.offset, value: m.value });
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
