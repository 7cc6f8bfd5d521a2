// The co-partitioning assigner in a real consumer group (broker started by the jest global setup).
import { logLevel } from './kafkajs';
import { createLogger } from '@movie-stream/logging';
import { assignedIndices, coPartitionedAssigner, createKafka, deleteTopicsAndGroups, ensureTopics, sleep, withAdmin } from './index';

jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = createKafka({ brokers, clientId: 'co-partitioned-int-test' }, logger);
const prefix = `copart-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}.`;
const topics = [`${prefix}movies`, `${prefix}mean-ratings`];
const group = `${prefix}sink`;
const PARTITIONS = 6;

/** Polls `cond` until it holds; fails with `what` after the deadline (a rebalance on a busy machine can take a while). */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** One member: a consumer with the assigner, advertising what its last GROUP_JOIN gave it. */
function member(name: string) {
  let owned: number[] = [];
  const m = {
    name,
    joins: 0,
    assignment: {} as Record<string, number[]>,
    consumer: kafka.consumer({
      groupId: group,
      partitionAssigners: [coPartitionedAssigner(() => owned)],
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    }),
  };
  m.consumer.logger().setLogLevel(logLevel.NOTHING);
  m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
    m.assignment = e.payload.memberAssignment;
    owned = assignedIndices(m.assignment);
    m.joins++;
  });
  return m;
}
type Member = ReturnType<typeof member>;

/** The members' latest assignments are one generation's: every topic-partition exactly once. */
function coverExactly(members: Member[]): boolean {
  const held = members.flatMap((m) => Object.entries(m.assignment).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)));
  return held.length === topics.length * PARTITIONS && new Set(held).size === held.length;
}

function expectCoLocatedAndBalanced(members: Member[]) {
  for (const m of members) {
    expect(Object.keys(m.assignment).sort()).toEqual([...topics].sort());
    expect(m.assignment[topics[0]!]!.slice().sort()).toEqual(m.assignment[topics[1]!]!.slice().sort());
  }
  const counts = members.map((m) => assignedIndices(m.assignment).length);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  expect(members.flatMap((m) => assignedIndices(m.assignment)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
}

const members: Member[] = [];

afterAll(async () => {
  await Promise.all(members.map((m) => m.consumer.disconnect().catch(() => undefined)));
  await deleteTopicsAndGroups(kafka, prefix, [group]).catch(() => undefined);
});

it('co-locates partition i of both topics on one member, balanced, and survivors keep their indices when a member leaves', async () => {
  await withAdmin(kafka, (admin) =>
    ensureTopics(
      admin,
      topics.map((name) => ({ name, partitions: PARTITIONS })),
      0,
      logger,
    ),
  );
  for (const name of ['a', 'b', 'c']) {
    const m = member(name);
    members.push(m);
    await m.consumer.connect();
    await m.consumer.subscribe({ topics, fromBeginning: true });
    await m.consumer.run({ eachBatch: async () => {} });
  }

  await waitFor('three members holding all 12 topic-partitions', () => members.every((m) => m.joins > 0) && coverExactly(members));
  expectCoLocatedAndBalanced(members);
  expect(members.map((m) => assignedIndices(m.assignment).length)).toEqual([2, 2, 2]);

  // The member holding index 0 leaves: a non-sticky split of 0..5 over two would then move a survivor's indices.
  const gone = members.find((m) => assignedIndices(m.assignment).includes(0))!;
  const survivors = members.filter((m) => m !== gone);
  const before = new Map(survivors.map((m) => [m, assignedIndices(m.assignment)]));
  const joinsBefore = new Map(survivors.map((m) => [m, m.joins]));
  await gone.consumer.disconnect();
  members.splice(members.indexOf(gone), 1);

  await waitFor(
    'the two survivors holding all 12 topic-partitions',
    () => survivors.every((m) => m.joins > joinsBefore.get(m)!) && coverExactly(survivors),
  );
  expectCoLocatedAndBalanced(survivors);
  for (const m of survivors) {
    expect(assignedIndices(m.assignment)).toEqual(expect.arrayContaining(before.get(m)!));
    expect(assignedIndices(m.assignment)).toHaveLength(3);
  }
});
