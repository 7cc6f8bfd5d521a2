// Coalescing in CheckpointedConsumer on the real broker: held batches are handed on merged, a partition
// that moves to another member while this one holds messages of it ends with every message handled exactly
// once (the held ones are dropped and read again, by the new owner or after the seek), a failed timer flush
// is retried like a failed batch, and a pause applies what is held.
import type { Kafka } from './kafkajs';
import { brokers, logger, testKafka, uniqueName, until } from './int-test-kit';
import { CheckpointedConsumer, ensureTopics, PartitionBatch, PartitionOwner, Publisher } from './index';

jest.setTimeout(180_000);

const kafka = testKafka('coalescing-int-test');
const prefix = uniqueName('coalesce');
const PARTITIONS = 4;
const PER_SLICE = 50;

/** Values p*1000+i for i in [from, to) of every partition, each send its own batch on the topic. */
async function publish(topic: string, from: number, to: number): Promise<void> {
  const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
  await publisher.connect();
  for (let i = from; i < to; i += 10)
    for (let p = 0; p < PARTITIONS; p++)
      await publisher.send(
        topic,
        Array.from({ length: Math.min(10, to - i) }, (_, j) => ({ partition: p, value: String(p * 1000 + i + j) })),
      );
  await publisher.disconnect();
}

const range = (p: number, n: number) => Array.from({ length: n }, (_, i) => p * 1000 + i);

/** One member: its own offsets (its state), the values and batches it handled. */
function member(topic: string, groupId: string, admin: ReturnType<Kafka['admin']>, maxMs: number, failOnce = false) {
  const next = new Map<number, string>();
  const handled = new Map<number, number[]>();
  const batches: PartitionBatch[] = [];
  let failures = 0;
  const owner: PartitionOwner = {
    claim: async () => undefined,
    release: async (ps) => {
      for (const p of ps) next.delete(p);
    },
  };
  const consumer = new CheckpointedConsumer({
    kafka,
    admin,
    brokers,
    logger,
    groupId,
    topics: [topic],
    owner,
    sessionTimeoutMs: 6_000,
    coalesce: { maxMessages: 0, maxMs },
    checkpoint: { nextOffset: (_t, p) => next.get(p) },
    handle: async (b) => {
      if (failOnce && failures === 0) {
        failures++;
        throw new Error('the first handle fails');
      }
      batches.push(b);
      for (const m of b.messages)
        (handled.get(b.partition) ?? handled.set(b.partition, []).get(b.partition))?.push(Number(String(m.value)));
      next.set(b.partition, b.nextOffset);
    },
  });
  return { consumer, next, handled, batches, failures: () => failures };
}

describe('CheckpointedConsumer with coalescing', () => {
  const admin = kafka.admin();
  const topics: string[] = [];
  const newTopic = async (name: string) => {
    const topic = `${prefix}.${name}`;
    topics.push(topic);
    await ensureTopics(admin, [{ name: topic, partitions: PARTITIONS }], 0, logger);
    return topic;
  };

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('drops what it holds of partitions when another member joins; every message is handled once in the end', async () => {
    const topic = await newTopic('rebalance');
    const groupId = `${prefix}.rebalance`;
    await publish(topic, 0, PER_SLICE);
    // A window longer than a rebalance takes: what is held when b joins is still held then.
    const a = member(topic, groupId, admin, 15_000);
    await a.consumer.start();
    expect(await until(() => [...a.next.values()].filter((n) => n === String(PER_SLICE)).length === PARTITIONS, 60_000)).toBe(true);
    // Several fetched batches per partition were handed on as one (the first per partition may be split
    // from the rest by the claim).
    expect(a.batches.length).toBeLessThan((PER_SLICE / 10) * PARTITIONS);

    await publish(topic, PER_SLICE, 2 * PER_SLICE);
    expect(await until(() => a.consumer.heldMessages() === PARTITIONS * PER_SLICE, 60_000)).toBe(true);
    const b = member(topic, groupId, admin, 1_000);
    await b.consumer.start();
    // b takes half of the partitions and reads them from the start (its state has none of them).
    expect(
      await until(() => b.handled.size === PARTITIONS / 2 && [...b.handled.values()].every((v) => v.length === 2 * PER_SLICE), 60_000),
    ).toBe(true);
    const moved = [...b.handled.keys()].sort();
    const kept = [...Array(PARTITIONS).keys()].filter((p) => !moved.includes(p));
    // a applies what it still had of its kept partitions: read again from its state's offsets after the join.
    expect(await until(() => kept.every((p) => a.handled.get(p)?.length === 2 * PER_SLICE), 60_000)).toBe(true);
    for (const p of kept) expect(a.handled.get(p)).toEqual(range(p, 2 * PER_SLICE));
    for (const p of moved) {
      expect(b.handled.get(p)).toEqual(range(p, 2 * PER_SLICE));
      // a's held messages of a moved partition were dropped, not applied.
      expect(a.handled.get(p)).toEqual(range(p, PER_SLICE));
    }
    await b.consumer.stop();
    await a.consumer.stop();
  });

  it('reads the messages of a failed timer flush again and applies them once; a pause applies what is held', async () => {
    const topic = await newTopic('failure');
    const groupId = `${prefix}.failure`;
    await publish(topic, 0, PER_SLICE);
    const a = member(topic, groupId, admin, 300, true);
    await a.consumer.start();
    expect(await until(() => [...a.next.values()].filter((n) => n === String(PER_SLICE)).length === PARTITIONS, 60_000)).toBe(true);
    expect(a.failures()).toBe(1);
    for (let p = 0; p < PARTITIONS; p++) expect(a.handled.get(p)).toEqual(range(p, PER_SLICE));
    await a.consumer.stop();

    // A window that never ends in this test: only the pause hands the held messages on.
    const c = member(topic, groupId, admin, 600_000);
    for (const [p, n] of a.next) c.next.set(p, n);
    await c.consumer.start();
    await publish(topic, PER_SLICE, 2 * PER_SLICE);
    expect(await until(() => c.consumer.heldMessages() === PARTITIONS * PER_SLICE, 60_000)).toBe(true);
    expect(c.batches).toEqual([]);
    await c.consumer.beginStop();
    expect(c.consumer.heldMessages()).toBe(0);
    for (let p = 0; p < PARTITIONS; p++) expect(c.handled.get(p)).toEqual(range(p, 2 * PER_SLICE).slice(PER_SLICE));
    expect(c.batches).toHaveLength(PARTITIONS);
    await c.consumer.stop();
  });
});
