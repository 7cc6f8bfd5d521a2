// Group membership as the dashboard reads it, on the real broker (started by the jest global setup).
import { logLevel } from './kafkajs';
import { createLogger } from '@movie-stream/logging';
import {
  ClusterAdmin,
  createKafka,
  deleteTopicsAndGroups,
  describeGroupMembers,
  ensureTopics,
  GroupMembers,
  sleep,
  withAdmin,
} from './index';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const client = (clientId: string) => createKafka({ brokers, clientId }, logger);
const prefix = `members-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}.`;
const topic = `${prefix}t`;
const group = `${prefix}group`;
const consumers = [client(`${prefix}client-a`), client(`${prefix}client-b`)].map((k) =>
  k.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 }),
);

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  await deleteTopicsAndGroups(client(`${prefix}admin`), prefix, [group]).catch(() => undefined);
});

it('lists both members of a group with disjoint partitions that cover the topic, as each member was told at its join', async () => {
  const kafka = client(`${prefix}admin`);
  await withAdmin(kafka, (admin) => ensureTopics(admin, [{ name: topic, partitions: 4 }], 0, logger));
  const joined = new Map<string, Record<string, number[]>>(); // memberId → its latest GROUP_JOIN assignment
  for (const c of consumers) {
    c.logger().setLogLevel(logLevel.NOTHING);
    c.on(c.events.GROUP_JOIN, (e) => joined.set(e.payload.memberId, e.payload.memberAssignment));
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachBatch: async () => {} });
  }

  const deadline = Date.now() + 90_000;
  let described: GroupMembers | undefined;
  await withAdmin(kafka, async (admin) => {
    for (;;) {
      [described] = await describeGroupMembers(admin, [group]);
      const members = described?.members ?? [];
      // Settled: Stable with two members, each holding what its own last join said.
      if (
        described?.state === 'Stable' &&
        members.length === 2 &&
        members.every(
          (m) => (m.assignment[topic]?.length ?? 0) > 0 && JSON.stringify(sorted(joined.get(m.memberId))) === JSON.stringify(m.assignment),
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`group not settled with two members: ${JSON.stringify(described)}`);
      await sleep(200);
    }
  });
  const members = described!.members;
  expect(members.map((m) => m.clientId)).toEqual([`${prefix}client-a`, `${prefix}client-b`]);
  expect(members.every((m) => m.host.length > 0 && m.assignmentError === undefined)).toBe(true);
  const [a, b] = members.map((m) => m.assignment[topic]!);
  expect(a!.filter((p) => b!.includes(p))).toEqual([]);
  expect([...a!, ...b!].sort()).toEqual([0, 1, 2, 3]);

  // ClusterAdmin.consumerGroups carries the same members (the dashboard's poll).
  const admin = new ClusterAdmin(kafka);
  await admin.connect();
  try {
    const [info] = await admin.consumerGroups((g) => g === group);
    expect(info?.members?.map((m) => [m.clientId, m.assignment])).toEqual(members.map((m) => [m.clientId, m.assignment]));
  } finally {
    await admin.disconnect();
  }
});

it('answers an empty list for no groups, and a group nobody joined as Dead without members', async () => {
  await withAdmin(client(`${prefix}admin`), async (admin) => {
    expect(await describeGroupMembers(admin, [])).toEqual([]);
    expect(await describeGroupMembers(admin, [`${prefix}nobody`])).toEqual([{ groupId: `${prefix}nobody`, state: 'Dead', members: [] }]);
  });
});

function sorted(a: Record<string, number[]> | undefined): Record<string, number[]> | undefined {
  return a && Object.fromEntries(Object.entries(a).map(([t, ps]) => [t, [...ps].sort((x, y) => x - y)]));
}
