// Integration tests against the real broker (started by the jest global setup).
import { fromBinary, MetaReportSchema } from '@movie-stream/schema';
import { brokers, logger, readUntil, testKafka, uniqueName } from './int-test-kit';
import {
  Checkpoint,
  CheckpointedConsumer,
  consumerLag,
  ensureTopics,
  MetaReporter,
  pipelineTopics,
  Publisher,
  RecordFingerprint,
  StateMismatchError,
  topicNames,
  totalLag,
} from './index';

// Real broker, real processes: minutes, not the unit-test default of 5 s.
jest.setTimeout(180_000);

const kafka = testKafka('messaging-int-test');

const created: string[] = [];
function freshTopics() {
  const p = uniqueName('it');
  created.push(p);
  return topicNames({
    topicRatings: `${p}.ratings`,
    topicMovies: `${p}.movies`,
    topicMeanRatings: `${p}.mean-ratings`,
    topicMetaPrefix: `${p}.meta`,
  });
}

async function readAll(topic: string, expected: number, timeoutMs = 30_000) {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { key: string; value: Buffer; partition: number; offset: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`read ${got.length}/${expected} from ${topic}`)), timeoutMs);
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        got.push({ key: String(message.key), value: message.value as Buffer, partition, offset: message.offset });
        if (got.length >= expected) {
          clearTimeout(t);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

describe('messaging on a real broker', () => {
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(async () => {
    // Leave no topics behind: hundreds of them make every broker restart slow.
    const mine = (await admin.listTopics()).filter((t) => created.some((p) => t.startsWith(p)));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  });

  it('creates topics idempotently, with compaction where the state is per key', async () => {
    const names = freshTopics();
    const specs = pipelineTopics(names, 6);
    expect((await ensureTopics(admin, specs, 0, logger)).sort()).toEqual(specs.map((s) => s.name).sort());
    expect(await ensureTopics(admin, specs, 0, logger)).toEqual([]);
    // Co-partitioned: one count for ratings, movies and mean-ratings.
    const meta = await admin.fetchTopicMetadata({ topics: [names.ratings, names.movies, names.meanRatings] });
    expect(meta.topics.map((t) => t.partitions.length)).toEqual([6, 6, 6]);
    const cfg = await admin.describeConfigs({
      resources: [{ type: 2, name: names.meanRatings, configNames: ['cleanup.policy', 'retention.ms', 'segment.ms'] }],
      includeSynonyms: false,
    });
    const entries = Object.fromEntries(cfg.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries).toEqual({ 'cleanup.policy': 'compact,delete', 'retention.ms': '-1', 'segment.ms': '600000' });
  });

  it('publishes in batches keyed by movie, and the meta reports add up to exactly what was published', async () => {
    const names = freshTopics();
    await ensureTopics(admin, pipelineTopics(names, 6), 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger, maxInFlight: 3 });
    await publisher.connect();
    const meta = new MetaReporter({
      service: 'it',
      instanceId: 'i1',
      topics: names,
      windowMs: 200,
      sink: publisher.rawSink(),
      logger,
    });
    publisher.meta = meta;
    meta.start();
    const total = 12_345;
    for (let i = 0; i < total; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(total, i + 1000); j++) batch.push({ key: String(j % 97), value: Buffer.from(`v${j}`) });
      await publisher.enqueue(names.ratings, batch);
    }
    await publisher.flush();
    await meta.close();
    await publisher.disconnect();

    const offsets = await admin.fetchTopicOffsets(names.ratings);
    expect(offsets.reduce((s, p) => s + Number(p.high), 0)).toBe(total);
    const got = await readAll(names.ratings, total);
    // Same key → same partition, always.
    const partitionOfKey = new Map<string, number>();
    for (const m of got) {
      expect(partitionOfKey.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOfKey.set(m.key, m.partition);
    }
    const reportsTopic = await admin.fetchTopicOffsets(names.metaPublished);
    const reports = await readAll(names.metaPublished, Number(reportsTopic[0].high));
    const decoded = reports.map((r) => fromBinary(MetaReportSchema, r.value));
    expect(decoded.reduce((s, r) => s + Number(r.count), 0)).toBe(total);
    expect(new Set(decoded.map((r) => r.service))).toEqual(new Set(['it']));
    for (const r of decoded) expect(Number(r.windowEndMs - r.windowStartMs)).toBe(200);
  });

  it('consumes from the checkpoint, drops replays, commits only what it is told', async () => {
    const names = freshTopics();
    await ensureTopics(admin, [{ name: names.ratings, partitions: 1 }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger });
    await publisher.connect();
    await publisher.send(
      names.ratings,
      Array.from({ length: 100 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
    );
    await publisher.disconnect();

    const groupId = `${names.ratings}-group`;
    // The state already holds offsets 0..39: consumption must start at 40.
    const state = { next: '40' };
    const seen: number[] = [];
    const consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger,
      groupId,
      topics: [names.ratings],
      checkpoint: { nextOffset: () => state.next },
      handle: async (b) => {
        for (const m of b.messages) seen.push(Number(String(m.value)));
        state.next = b.nextOffset;
      },
    });
    await consumer.start();
    const deadline = Date.now() + 30_000;
    while (seen.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await consumer.beginStop();
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => 40 + i));
    expect(totalLag(await consumerLag(admin, groupId, [names.ratings]))).toBe(100); // nothing committed yet
    await consumer.commit({ [names.ratings]: { '0': state.next } });
    expect(totalLag(await consumerLag(admin, groupId, [names.ratings]))).toBe(0);
    await consumer.stop();
  });

  it('seeks back when Kafka committed past the state (state deleted or older)', async () => {
    const names = freshTopics();
    await ensureTopics(admin, [{ name: names.ratings, partitions: 1 }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger });
    await publisher.connect();
    await publisher.send(
      names.ratings,
      Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
    );
    await publisher.disconnect();
    const groupId = `${names.ratings}-group`;
    await admin.setOffsets({ groupId, topic: names.ratings, partitions: [{ partition: 0, offset: '45' }] });

    const state: { next?: string } = {}; // empty state: rebuild from the start of the topic
    const seen: number[] = [];
    const consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger,
      groupId,
      topics: [names.ratings],
      checkpoint: { nextOffset: () => state.next },
      handle: async (b) => {
        for (const m of b.messages) seen.push(Number(String(m.value)));
        state.next = b.nextOffset;
      },
    });
    await consumer.start();
    const deadline = Date.now() + 30_000;
    while (seen.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await consumer.beginStop();
    await consumer.stop();
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('a state on a topic deleted and recreated under it', () => {
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(async () => {
    const mine = (await admin.listTopics()).filter((t) => created.some((p) => t.startsWith(p)));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  });

  const until = async (what: string, cond: () => boolean, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  async function publish(topic: string, from: number, to: number) {
    const publisher = new Publisher(kafka, { brokers, logger });
    await publisher.connect();
    await publisher.send(
      topic,
      Array.from({ length: to - from }, (_, i) => ({ key: 'k', value: Buffer.from(`v${from + i}`) })),
    );
    await publisher.disconnect();
  }

  async function recreate(topic: string, partitions: number) {
    await admin.deleteTopics({ topics: [topic] });
    const deadline = Date.now() + 60_000;
    // Deletion is asynchronous: creating the same name succeeds once the broker has finished it.
    for (;;) {
      try {
        if (await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })) break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The state a service keeps (what StorableFrame persists), in memory. */
  class State implements Checkpoint {
    next = new Map<number, string>();
    marks = new Map<number, RecordFingerprint>();
    partitions?: number;
    seen: string[] = [];
    nextOffset = (_t: string, p: number) => this.next.get(p);
    lastRecord = (_t: string, p: number) => this.marks.get(p);
    partitionCount = () => this.partitions;
    setPartitionCount = (_t: string, n: number) => void (this.partitions = n);
  }

  async function consume(topic: string, state: State, untilSeen?: number) {
    const consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger,
      groupId: `${topic}-${Math.random()}`,
      topics: [topic],
      checkpoint: state,
      handle: async (b) => {
        for (const m of b.messages) state.seen.push(String(m.value));
        state.next.set(b.partition, b.nextOffset);
        state.marks.set(b.partition, b.last);
      },
    });
    try {
      await consumer.start();
    } catch (e) {
      await consumer.stop();
      throw e;
    }
    if (untilSeen !== undefined) {
      await until(`${untilSeen} messages`, () => state.seen.length >= untilSeen);
      await consumer.beginStop();
      await consumer.stop();
    }
    return consumer;
  }

  it('resumes exactly on the same topic, and refuses it recreated with fewer or more records or more partitions', async () => {
    const topic = freshTopics().ratings;
    await ensureTopics(admin, [{ name: topic, partitions: 1 }], 0, logger);
    await publish(topic, 0, 50);
    const state = new State();
    await consume(topic, state, 50);
    expect(state.next.get(0)).toBe('50');
    expect(state.partitions).toBe(1);

    // A normal restart: the record before the state's offset is the state's own last one; resume right after it.
    await publish(topic, 50, 60);
    state.seen = [];
    const resumed = await consume(topic, state, 10);
    expect(state.seen).toEqual(Array.from({ length: 10 }, (_, i) => `v${50 + i}`));
    expect(resumed.skippedReplays).toBe(0);

    // Recreated with fewer records than the state's offset (60): refused before consuming anything.
    await recreate(topic, 1);
    await publish(topic, 0, 20);
    state.seen = [];
    const fewer = consume(topic, state);
    await expect(fewer).rejects.toThrow(StateMismatchError);
    await expect(fewer).rejects.toThrow(`${topic} partition 0: the state continues at offset 60, past the partition's end (20)`);

    // Recreated with more: offset 60 is inside the new topic, but offset 59 holds another record.
    await recreate(topic, 1);
    await publish(topic, 0, 100);
    // Checked before joining the group (start rejects), so nothing else has touched the state yet.
    const more = consume(topic, state);
    await expect(more).rejects.toThrow(StateMismatchError);
    // The same values published again: only the timestamp tells the records apart.
    await expect(more).rejects.toThrow(
      `${topic} partition 0: the record at offset 59 is not the one the state last consumed there (same key and value, but written at`,
    );
    expect(state.seen).toEqual([]); // nothing of the new topic was applied
    expect(state.next.get(0)).toBe('60');

    // Partitions added under a state (here: a state rebuilt on the new topic, then the topic grown to 3).
    const rebuilt = new State();
    await consume(topic, rebuilt, 100);
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    // The broker answers before the new partitions have leaders and are listed (a consumer started at once
    // may still see one partition): wait until their offsets can be read.
    const grown = await readUntil(
      () => admin.fetchTopicOffsets(topic).catch(() => []),
      (o) => o.length === 3,
      30_000,
    );
    expect(grown).toHaveLength(3);
    await expect(consume(topic, rebuilt)).rejects.toThrow(`${topic} has 3 partitions, the state was built on 1`);
  });

  it('checks a state against records deleted by retention: resumes when its offset is still in the log, refuses when not', async () => {
    const topic = freshTopics().ratings;
    await ensureTopics(admin, [{ name: topic, partitions: 1 }], 0, logger);
    await publish(topic, 0, 50);
    const state = new State();
    await consume(topic, state, 50);
    await publish(topic, 50, 60);

    // Retention removed the state's last record (49) but not its next one (50): nothing to compare, in range.
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '50' }] });
    state.seen = [];
    const resumed = await consume(topic, state, 10);
    expect(state.seen).toEqual(Array.from({ length: 10 }, (_, i) => `v${50 + i}`));
    expect(resumed.skippedReplays).toBe(0);

    // Retention removed records the state never consumed: refused.
    const behind = new State();
    behind.next.set(0, '55');
    behind.partitions = 1;
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '58' }] });
    await expect(consume(topic, behind)).rejects.toThrow(
      `${topic} partition 0: the state continues at offset 55, but the partition now starts at 58 (records the state never saw were deleted)`,
    );
  });
});
