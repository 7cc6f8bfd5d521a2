// Partition ownership in CheckpointedConsumer on the real broker: two members of one group, each with its
// own state. What each member handles, claims and releases follows the group's assignment, and a member's
// commit never sets back a partition that moved to the other one (the broker does not check ownership).
import type { Kafka } from './kafkajs';
import { brokers, logger, testKafka, uniqueName, until } from './int-test-kit';
import { createLogger } from '@movie-stream/logging';
import { CheckpointedConsumer, ensureTopics, PartitionOwner, Publisher } from './index';

jest.setTimeout(180_000);

const kafka = testKafka('ownership-int-test');
const prefix = uniqueName('owner');
const PARTITIONS = 4;
const PER_PARTITION = 50;

/** One member: its own offsets, the values it handled, and what it was told to claim and release. */
function member(topic: string, groupId: string, admin: ReturnType<Kafka['admin']>) {
  const next = new Map<number, string>();
  const handled = new Map<number, number[]>();
  const claims: number[][] = [];
  const releases: number[][] = [];
  const owner: PartitionOwner = {
    claim: async (ps) => void claims.push([...ps].sort()),
    release: async (ps) => {
      releases.push([...ps].sort());
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
    checkpoint: { nextOffset: (_t, p) => next.get(p) },
    handle: async (b) => {
      for (const m of b.messages)
        (handled.get(b.partition) ?? handled.set(b.partition, []).get(b.partition))?.push(Number(String(m.value)));
      next.set(b.partition, b.nextOffset);
    },
  });
  return { consumer, next, handled, claims, releases };
}

describe('CheckpointedConsumer with several members in one group', () => {
  const admin = kafka.admin();
  const topic = `${prefix}.t`;
  const groupId = `${prefix}.group`;

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: PARTITIONS }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
    await publisher.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      await publisher.send(
        topic,
        Array.from({ length: PER_PARTITION }, (_, i) => ({ partition: p, value: String(p * 1000 + i) })),
      );
    }
    await publisher.disconnect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('claims what is assigned, releases what moves, and commits only what it owns', async () => {
    const a = member(topic, groupId, admin);
    await a.consumer.start();
    expect(await until(() => [...a.next.values()].filter((n) => n === String(PER_PARTITION)).length === PARTITIONS, 60_000)).toBe(true);
    expect(a.claims).toEqual([[0, 1, 2, 3]]);
    await a.consumer.commit({ [topic]: Object.fromEntries([...a.next].map(([p, n]) => [String(p), n])) });

    // b joins: the group splits the partitions; a releases exactly what b claims.
    const b = member(topic, groupId, admin);
    await b.consumer.start();
    expect(await until(() => b.claims.length === 1 && a.releases.length === 1, 60_000)).toBe(true);
    const moved = b.claims[0];
    expect(moved.length).toBe(PARTITIONS / 2);
    expect(a.releases[0]).toEqual(moved);
    // b has no state of them: it reads them from the start, all of each partition exactly once.
    expect(await until(() => moved.every((p) => b.handled.get(p)?.length === PER_PARTITION), 60_000)).toBe(true);
    for (const p of moved) expect(b.handled.get(p)).toEqual(Array.from({ length: PER_PARTITION }, (_, i) => p * 1000 + i));
    await b.consumer.commit({ [topic]: Object.fromEntries(moved.map((p) => [String(p), String(PER_PARTITION)])) });

    // a's stale view of the moved partitions (offset 1) must not reach the group's offsets.
    await a.consumer.commit({ [topic]: Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), '1'])) });
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions;
    for (const { partition, offset } of committed) expect([partition, offset]).toEqual([partition, moved.includes(partition) ? '50' : '1']);

    await b.consumer.stop();
    // b left: a claims the moved partitions again (nothing of them in its state: from the start).
    expect(await until(() => a.claims.length === 2, 60_000)).toBe(true);
    expect(a.claims[1]).toEqual(moved);
    await a.consumer.stop();
  });

  /** A member whose claims wait until the test lets them end; its logger records what it says. */
  function stallingMember(name: string, signal?: AbortSignal) {
    const logged = createLogger({ service: 'test', level: 'info', format: 'json' });
    logged.silent = true; // the spies below still see every call
    const errors = jest.spyOn(logged, 'error');
    const infos = jest.spyOn(logged, 'info');
    const claim: { started: boolean; end: (e?: Error) => void } = { started: false, end: () => undefined };
    const owner: PartitionOwner = {
      claim: () =>
        new Promise<void>((resolve, reject) => {
          claim.started = true;
          claim.end = (e) => (e ? reject(e) : resolve());
        }),
      release: async () => undefined,
    };
    const consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger: logged,
      signal,
      groupId: `${groupId}.${name}`,
      topics: [topic],
      owner,
      sessionTimeoutMs: 6_000,
      checkpoint: { nextOffset: () => undefined },
      handle: async () => undefined,
    });
    let failure: Error | undefined;
    void consumer.failed.then((e) => (failure = e));
    const said = (start: string) => () => infos.mock.calls.some(([m]) => String(m).startsWith(start));
    const errorsLogged = () => errors.mock.calls.map(([m]) => String(m));
    return { consumer, claim, said, errorsLogged, failure: () => failure };
  }

  it('a stop during a claim is no failure: the claim is logged as not finished, no error', async () => {
    // A stopping member gains partitions when the others leave first; its stop then cuts the claim short.
    const controller = new AbortController();
    const m = stallingMember('stop-during-claim', controller.signal);
    controller.signal.addEventListener('abort', () => m.claim.end(controller.signal.reason as Error), { once: true });
    await m.consumer.start();
    expect(await until(() => m.claim.started, 60_000)).toBe(true);
    controller.abort(new Error('SIGTERM received'));
    expect(await until(m.said('stopping: partition claim of 0, 1, 2, 3 not finished'), 10_000)).toBe(true);
    await m.consumer.stop();
    expect(m.errorsLogged()).toEqual([]);
    expect(m.failure()).toBeUndefined();
  });

  it('a claim that ends after the stop leaves the stopped consumer alone (its seek used to crash the process)', async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      const m = stallingMember('claim-after-stop');
      await m.consumer.start();
      expect(await until(() => m.claim.started, 60_000)).toBe(true);
      await m.consumer.beginStop();
      await m.consumer.stop();
      m.claim.end();
      expect(await until(m.said('stopping: partitions 0, 1, 2, 3 claimed after the stop began'), 10_000)).toBe(true);
      expect(rejections).toEqual([]);
      expect(m.errorsLogged()).toEqual([]);
      expect(m.failure()).toBeUndefined();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('a handler failure KafkaJS does not retry fails the consumer instead of leaving it idle', async () => {
    const consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger,
      groupId: `${groupId}.non-retriable`,
      topics: [topic],
      sessionTimeoutMs: 6_000,
      checkpoint: { nextOffset: () => undefined },
      // As KafkaJS's own errors say it, e.g. a publish refused for good (a record larger than the broker takes).
      handle: async () => {
        throw Object.assign(new Error('refused for good'), { retriable: false });
      },
    });
    await consumer.start();
    let timer: NodeJS.Timeout | undefined;
    const failure = await Promise.race([
      consumer.failed,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 60_000))),
    ]);
    clearTimeout(timer);
    await consumer.stop();
    expect(failure?.message).toMatch(/failed with an error no retry can cure: Error: refused for good/);
  });
});
