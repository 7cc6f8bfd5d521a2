// The run's admin steps against the real broker (started by the jest global setup).
import { Kafka, logLevel } from './kafkajs';
import {
  createPipelineTopics,
  deleteTopicsAndGroups,
  groupLag,
  topicNames,
  waitForStableGroups,
  withAdmin,
  withTemporaryTopic,
} from './index';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ clientId: 'run-admin-int-test', brokers, logLevel: logLevel.NOTHING });
const prefix = `ra-${Date.now().toString(36)}-${process.pid}.`;
const names = topicNames({
  topicRatings: `${prefix}ratings`,
  topicMovies: `${prefix}movies`,
  topicMeanRatings: `${prefix}mean-ratings`,
  topicMetaPrefix: `${prefix}meta`,
});
const group = `${prefix}group`;
const listTopics = () => withAdmin(kafka, (a) => a.listTopics());

afterAll(() => deleteTopicsAndGroups(kafka, prefix, [group]).catch(() => undefined));

it('creates a run’s topics, measures a group’s lag as it commits, waits for it to settle, deletes the run', async () => {
  const created = await createPipelineTopics(kafka, names, 4);
  expect(created.sort()).toEqual((await listTopics()).filter((t) => t.startsWith(prefix)).sort());
  expect(created).toEqual(
    expect.arrayContaining([names.ratings, names.movies, names.meanRatings, names.metaPublished, names.metaConsumed]),
  );
  expect(await withAdmin(kafka, async (a) => (await a.fetchTopicMetadata({ topics: [names.ratings] })).topics[0].partitions.length)).toBe(
    4,
  );
  expect(await createPipelineTopics(kafka, names, 4)).toEqual([]); // idempotent

  // Idempotent: a send retried on a busy broker must not put a message in twice (seen: 13 for 10).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: names.ratings, messages: Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: 'x' })) });
  await producer.disconnect();
  // Nothing committed yet: the lag is everything on the topic.
  expect(await groupLag(kafka, group, [names.ratings])).toBe(10);

  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topic: names.ratings, fromBeginning: true });
  let seen = 0;
  await consumer.run({ eachMessage: async () => void seen++ });
  await waitForStableGroups(kafka, [group], { timeoutMs: 60_000 });
  const until = Date.now() + 60_000;
  let lag = await groupLag(kafka, group, [names.ratings]);
  while (lag > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    lag = await groupLag(kafka, group, [names.ratings]);
  }
  expect({ seen, lag }).toEqual({ seen: 10, lag: 0 });
  await consumer.disconnect();

  // A check that throws ends the wait at once.
  await expect(
    waitForStableGroups(kafka, [group], {
      check: () => {
        throw new Error('consumer died');
      },
    }),
  ).rejects.toThrow('consumer died');

  const deleted = await deleteTopicsAndGroups(kafka, prefix, [group]);
  expect(deleted.sort()).toEqual(created.sort());
  const until2 = Date.now() + 60_000;
  let left = (await listTopics()).filter((t) => t.startsWith(prefix));
  while (left.length && Date.now() < until2) {
    await new Promise((r) => setTimeout(r, 200));
    left = (await listTopics()).filter((t) => t.startsWith(prefix));
  }
  expect(left).toEqual([]);
});

it('a temporary topic exists while its function runs and is gone afterwards, also when the function fails', async () => {
  const name = `${prefix}tmp`;
  const inside = await withTemporaryTopic(kafka, { name, partitions: 2 }, async () => (await listTopics()).includes(name));
  expect(inside).toBe(true);
  await expect(
    withTemporaryTopic(kafka, { name: `${name}2`, partitions: 1 }, async () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  const until = Date.now() + 60_000;
  let left = (await listTopics()).filter((t) => t === name || t === `${name}2`);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    left = (await listTopics()).filter((t) => t === name || t === `${name}2`);
  }
  expect(left).toEqual([]);
});
