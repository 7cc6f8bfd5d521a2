// Static membership (kafkajs-static-membership.ts) in a real consumer group: a member that stops and comes back
// with the same instance id gets its partitions back and the other member sees no rebalance; without an id the
// same restart rebalances twice; one that does not come back is removed after its session timeout; a second
// live process with the same id takes the membership over and the first one stops with FENCED_INSTANCE_ID. (Broker started by the jest global setup, or KAFKA_BROKERS.)
import type { Consumer } from './kafkajs';
import { brokers, testKafka, uniqueName, until } from './int-test-kit';
import { setGroupInstanceId } from './kafkajs-static-membership';

jest.setTimeout(120_000);

const PARTITIONS = 4;
const topic = uniqueName('static');
const admin = testKafka('static-membership-admin').admin();
const started: Consumer[] = [];

/** A consumer of `groupId` (a static member if an instance id is registered when it starts) and what it saw. */
async function member(groupId: string) {
  const consumer = testKafka('static-membership').consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
  });
  const m = {
    consumer,
    joins: 0,
    rebalances: 0,
    heartbeats: 0,
    leader: false,
    partitions: [] as number[],
    crash: undefined as Error | undefined,
  };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.joins++;
    m.leader = e.payload.isLeader;
    m.partitions = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  consumer.on(consumer.events.REBALANCING, () => m.rebalances++);
  consumer.on(consumer.events.HEARTBEAT, () => m.heartbeats++);
  consumer.on(consumer.events.CRASH, (e) => (m.crash = e.payload.error));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({ eachBatch: async () => {} });
  started.push(consumer);
  return m;
}
type Member = Awaited<ReturnType<typeof member>>;

const covers = (...ms: Member[]) =>
  ms
    .flatMap((m) => m.partitions)
    .sort((a, b) => a - b)
    .join() === [...Array(PARTITIONS).keys()].join();

/** Waits until `m` has heartbeated `n` more times (the group is stable for it meanwhile, or it rebalances). */
async function heartbeats(m: Member, n: number): Promise<void> {
  const from = m.heartbeats;
  expect(await until(() => m.heartbeats >= from + n, 20_000)).toBe(true);
}

/** Two members that together own every partition, with `ids` registered before each starts (undefined: dynamic). */
async function group(ids: [string | undefined, string | undefined]) {
  const groupId = uniqueName('static-group');
  setGroupInstanceId(groupId, ids[0]);
  const a = await member(groupId);
  setGroupInstanceId(groupId, ids[1]);
  const b = await member(groupId);
  expect(await until(() => a.partitions.length > 0 && b.partitions.length > 0 && covers(a, b), 30_000)).toBe(true);
  await heartbeats(a, 3);
  return { groupId, a, b };
}

beforeAll(async () => {
  expect(brokers.length).toBeGreaterThan(0);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
});

afterAll(async () => {
  await Promise.allSettled(started.map((c) => c.disconnect()));
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('static group membership', () => {
  it('a restarted member with the same instance id gets its partitions back; the other member sees no rebalance', async () => {
    const { groupId, a, b } = await group(['member-a', 'member-b']);
    const aJoins = a.joins;
    const aRebalances = a.rebalances;
    const bPartitions = b.partitions;

    await b.consumer.disconnect(); // no LeaveGroup
    await heartbeats(a, 3);
    // The registry still says member-b for the group: the new process is member-b again.
    const b2 = await member(groupId);
    expect(await until(() => b2.joins > 0, 20_000)).toBe(true);
    expect(b2.partitions).toEqual(bPartitions);
    await heartbeats(a, 5);
    expect([a.joins, a.rebalances]).toEqual([aJoins, aRebalances]);
    expect(covers(a, b2)).toBe(true);
  });

  it('the restarted member was the leader: no rebalance, it joins as a follower, and leads at the next rebalance', async () => {
    const { groupId, a, b } = await group(['member-a', 'member-b']);
    const [leader, other] = a.leader ? [a, b] : [b, a];
    expect(leader.leader).toBe(true);
    const otherJoins = other.joins;
    const leaderPartitions = leader.partitions;

    await leader.consumer.disconnect();
    setGroupInstanceId(groupId, leader === a ? 'member-a' : 'member-b');
    const restarted = await member(groupId);
    expect(await until(() => restarted.joins > 0, 20_000)).toBe(true);
    // The broker answers the rejoining static leader with the replaced member id as leader and no members:
    // KafkaJS takes it for a follower and runs no assigner; it gets its old partitions.
    expect([restarted.leader, restarted.partitions]).toEqual([false, leaderPartitions]);
    await heartbeats(other, 5);
    expect(other.joins).toBe(otherJoins);

    // A third member makes the group rebalance: the restarted member is the leader again and assigns.
    setGroupInstanceId(groupId, 'member-c');
    const c = await member(groupId);
    expect(
      await until(() => c.joins > 0 && restarted.joins === 2 && other.joins === otherJoins + 1 && covers(restarted, other, c), 30_000),
    ).toBe(true);
    expect([restarted.leader, other.leader, c.leader]).toEqual([true, false, false]);
  });

  it('a static member that stops and does not come back holds its partitions until its session times out', async () => {
    const { a, b } = await group(['member-a', 'member-b']);
    const aJoins = a.joins;
    const stopped = Date.now();
    await b.consumer.disconnect(); // no LeaveGroup
    expect(await until(() => a.joins === aJoins + 1 && a.partitions.length === PARTITIONS, 40_000)).toBe(true);
    // The broker removes it only once its last heartbeat (at most 300 ms before the stop) is 10 s old.
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(9_000);
  });

  it('without instance ids the same restart moves partitions twice (the contrast)', async () => {
    const { groupId, a, b } = await group([undefined, undefined]);
    const aJoins = a.joins;
    await b.consumer.disconnect(); // LeaveGroup: a takes every partition
    expect(await until(() => a.joins === aJoins + 1 && a.partitions.length === PARTITIONS, 20_000)).toBe(true);
    const b2 = await member(groupId); // a new member: a gives some back
    expect(await until(() => b2.joins > 0 && a.joins === aJoins + 2 && covers(a, b2), 20_000)).toBe(true);
  });

  it('a second live process with the same instance id takes the membership over: the first stops with FENCED_INSTANCE_ID', async () => {
    const { groupId, a, b } = await group(['member-a', 'member-b']);
    const aJoins = a.joins;
    const bPartitions = b.partitions;
    const b2 = await member(groupId); // member-b again, while b still runs
    expect(await until(() => b2.joins > 0 && b.crash !== undefined, 20_000)).toBe(true);
    expect(b2.partitions).toEqual(bPartitions);
    expect(b.crash?.message).toMatch(/another consumer with the same group instance id has registered/);
    const crash = b.crash as Error & { type?: string; cause?: { type?: string } };
    expect(crash.name).toBe('KafkaJSNonRetriableError');
    expect(crash.type ?? crash.cause?.type).toBe('FENCED_INSTANCE_ID');
    await heartbeats(a, 3);
    expect(a.joins).toBe(aJoins);
    // KafkaJS does not restart a consumer after this error: b stays stopped, b2 keeps the membership.
    await heartbeats(b2, 3);
    expect(b2.joins).toBe(1);
  });
});
