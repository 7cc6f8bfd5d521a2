// How CheckpointedConsumer meets failing and waiting handlers, claims and its first join, on the real broker: permanent errors
// end it with their reason, transient ones that never stop end it after the retry timeout, a handler that
// waits longer than the session timeout keeps its member in the group, and a claim superseded by a newer join
// stops fencing the partition's new owner; the positions of partitions gained on the first join are committed.
import { brokers, logger, testKafka, uniqueName, until } from './int-test-kit';
import { CheckpointedConsumer, CheckpointedConsumerOptions, ensureTopics, PartitionOwner, PartitionWriteError, Publisher } from './index';

jest.setTimeout(180_000);

const kafka = testKafka('consumer-failures-int-test');
const prefix = uniqueName('failures');
const topic = `${prefix}.t`;
const admin = kafka.admin();

beforeAll(async () => {
  await admin.connect();
  await ensureTopics(admin, [{ name: topic, partitions: 2 }], 0, logger);
  const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
  await publisher.connect();
  for (const partition of [0, 1]) await publisher.send(topic, [{ partition, value: `first ${partition}` }]);
  await publisher.disconnect();
});
afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

function consumerOf(name: string, opts: Partial<CheckpointedConsumerOptions>): CheckpointedConsumer {
  return new CheckpointedConsumer({
    kafka,
    admin,
    brokers,
    logger,
    groupId: `${prefix}.${name}`,
    topics: [topic],
    sessionTimeoutMs: 6_000,
    checkpoint: { nextOffset: () => undefined },
    handle: async () => undefined,
    ...opts,
  });
}

/** The consumer's failure, or undefined if none came within `ms`. */
async function failureWithin(consumer: CheckpointedConsumer, ms: number): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const failure = await Promise.race([
    consumer.failed,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]);
  clearTimeout(timer);
  return failure;
}

it('a handler error the service calls permanent (a database refusing permission) ends it at once, naming the cause', async () => {
  let calls = 0;
  const consumer = consumerOf('permanent', {
    isPermanent: (e) => (e as { code?: string }).code === '42501',
    handle: async () => {
      calls++;
      throw Object.assign(new Error('permission denied for table movie_ratings_state'), { code: '42501' });
    },
  });
  await consumer.start();
  const failure = await failureWithin(consumer, 60_000);
  await consumer.stop();
  expect(failure?.message).toMatch(/no retry can cure: .*permission denied for table movie_ratings_state \(code 42501\)/);
  // Failed on the first call, not after KafkaJS's retries and restarts.
  expect(calls).toBe(1);
});

it('a transient error that never stops ends the consumer after the retry timeout instead of looping', async () => {
  let calls = 0;
  const consumer = consumerOf('transient', {
    retryTimeoutMs: 3_000,
    handle: async () => {
      calls++;
      throw new Error('the broker is busy');
    },
  });
  await consumer.start();
  const failure = await failureWithin(consumer, 90_000);
  await consumer.stop();
  expect(failure?.message).toMatch(/has kept failing for \d+ s \(RETRY_TIMEOUT_MS 3000\): Error: the broker is busy/);
  expect(calls).toBeGreaterThan(1);
});

it('a handler that waits three session timeouts keeps its member in the group (no rejoin)', async () => {
  let joins = 0;
  let release: () => void = () => undefined;
  const handled: string[] = [];
  const consumer = consumerOf('waiting', {
    partitionsConsumedConcurrently: 1,
    handle: async (b) => {
      if (handled.length === 0) await new Promise<void>((resolve) => (release = resolve));
      for (const m of b.messages) handled.push(`${b.partition}:${m.offset}`);
    },
  });
  consumer.consumer.on(consumer.consumer.events.GROUP_JOIN, () => joins++);
  await consumer.start();
  expect(await until(() => joins === 1, 30_000)).toBe(true);
  // The first batch waits 3 × the 6 s session timeout: KafkaJS alone would heartbeat only after it.
  await new Promise((r) => setTimeout(r, 18_000));
  release();
  expect(await until(() => handled.length === 2, 60_000)).toBe(true);
  await consumer.stop();
  expect(joins).toBe(1);
});

it('a claim superseded by a newer join stops: it never fences the partition after its new owner claimed it', async () => {
  const groupId = `${prefix}.superseded`;
  // a's claims always fail (a restore that cannot finish); b's succeed.
  const attemptsOfA: { at: number; partitions: number[] }[] = [];
  const ownerA: PartitionOwner = {
    claim: async (ps) => {
      attemptsOfA.push({ at: Date.now(), partitions: [...ps] });
      throw new Error('restore failed');
    },
    release: async () => undefined,
  };
  const claimedByB = new Map<number, number>();
  const ownerB: PartitionOwner = {
    claim: async (ps) => {
      for (const p of ps) claimedByB.set(p, Date.now());
    },
    release: async () => undefined,
  };
  const a = consumerOf('a', { groupId, owner: ownerA });
  const b = consumerOf('b', { groupId, owner: ownerB });
  // a's joins, seen after its own handler (registered in its constructor) has acted on them.
  const joinsOfA: { at: number; indices: number[] }[] = [];
  a.consumer.on(a.consumer.events.GROUP_JOIN, (e) =>
    joinsOfA.push({ at: Date.now(), indices: [...new Set(Object.values(e.payload.memberAssignment).flat())] }),
  );
  await a.start();
  expect(await until(() => attemptsOfA.length >= 1, 30_000)).toBe(true);
  await b.start();
  expect(await until(() => claimedByB.size >= 1, 60_000)).toBe(true);
  // Give a's retry loop (backoff 0.5, 1, 2 … s) room to show itself: attempts after b's claim, if any.
  const after = attemptsOfA.length;
  expect(await until(() => attemptsOfA.length >= after + 2, 30_000)).toBe(true);
  await b.stop();
  await a.stop();
  for (const p of claimedByB.keys()) {
    // From a's join that took p away (the one abort per join), no attempt of a's may include p.
    const movedAway = joinsOfA.find((j) => !j.indices.includes(p));
    expect(movedAway).toBeDefined();
    const late = attemptsOfA.filter((x) => x.at > movedAway!.at && x.partitions.includes(p));
    expect({ partition: p, lateAttempts: late.length }).toEqual({ partition: p, lateAttempts: 0 });
  }
});

it("commits the state's positions of the partitions gained on the first join (KafkaJS ignores a commit before its consumer runs)", async () => {
  const groupId = `${prefix}.first-join`;
  // The state already holds each partition's one record: nothing new to consume, so only the join commits.
  const consumer = consumerOf('first-join', {
    groupId,
    owner: { claim: async () => undefined, release: async () => undefined },
    checkpoint: { nextOffset: () => '1' },
  });
  await consumer.start();
  const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => p.offset);
  const ok = await until(async () => (await committed()).every((o) => o === '1'), 30_000);
  await consumer.stop();
  expect(await committed()).toEqual(['1', '1']);
  expect(ok).toBe(true);
});

it('a partition whose writer gave up (a producer stuck in a transaction state) is claimed again with a new writer and consumed', async () => {
  const groupId = `${prefix}.gave-up`;
  const claims: number[][] = [];
  const handled = new Set<string>();
  let gaveUp = false;
  const consumer = consumerOf('gave-up', {
    groupId,
    owner: { claim: async (ps) => void claims.push([...ps]), release: async () => undefined },
    handle: async (b) => {
      if (b.partition === 0 && !gaveUp) {
        gaveUp = true;
        throw new PartitionWriteError(
          'p00',
          'gave up after 1 attempts: Transaction state exception: Cannot call "beginTransaction" in state "ABORTING"',
        );
      }
      for (const m of b.messages) handled.add(`${b.partition}:${m.offset}`);
    },
  });
  await consumer.start();
  const ok = await until(() => handled.has('0:0') && handled.has('1:0'), 60_000);
  const failure = await failureWithin(consumer, 1);
  await consumer.stop();
  expect(ok).toBe(true);
  expect(failure).toBeUndefined();
  // Claimed with the join, then partition 0 alone again after its writer gave up.
  expect(claims).toEqual([[0, 1], [0]]);
});
