// ClusterPoller's stop with an admin whose calls the test records and lets finish: no Kafka needed.
import type { ClusterAdmin } from '@movie-stream/messaging';
import { ClusterPoller } from './cluster-poller';

/** An admin that records its calls; metadataBrokers waits for `first` (resolved at once if not given). */
function recordingAdmin(calls: string[], first: Promise<void> = Promise.resolve()): ClusterAdmin {
  const call =
    <T>(name: string, result: T) =>
    async () => {
      calls.push(name);
      return result;
    };
  return {
    metadataBrokers: async () => {
      calls.push('metadataBrokers');
      await first;
      return [];
    },
    topicSizes: call('topicSizes', []),
    consumerGroups: call('consumerGroups', [{ groupId: 'g' }]),
    groupLag: call('groupLag', []),
  } as unknown as ClusterAdmin;
}

it('a poll nobody stops makes every call', async () => {
  const calls: string[] = [];
  await new ClusterPoller({ admin: recordingAdmin(calls), brokers: [] }).poll();
  expect(calls).toEqual(['metadataBrokers', 'topicSizes', 'consumerGroups', 'groupLag']);
});

it('a stop ends the poll in progress at its next step: the admin calls after it are not made', async () => {
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const poller = new ClusterPoller({ admin: recordingAdmin(calls, new Promise<void>((resolve) => (release = resolve))), brokers: [] });
  const polling = poller.poll();
  expect(calls).toEqual(['metadataBrokers']);
  const stopped = poller.stop();
  release();
  await stopped;
  await polling;
  expect(calls).toEqual(['metadataBrokers']);
  await poller.poll(); // and no new poll starts
  expect(calls).toEqual(['metadataBrokers']);
});
