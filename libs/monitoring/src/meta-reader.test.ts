// followMetaReports' retry (libs/messaging's followTopics) and decoding, against an in-memory stand-in for
// KafkaJS: the error it must survive (a just-created topic without an elected leader) cannot be produced
// on demand by a real broker.
import type { KafkaClient } from '@movie-stream/messaging';
import { create, MetaReport_Action, MetaReportSchema, toBinary } from '@movie-stream/schema';
import { followMetaReports } from './meta-reader';
import type { RestoreEvent } from './restores';
import type { MetaPoint } from './series';

type EachBatch = (p: { batch: { topic: string; partition: number; messages: { value: Buffer }[] } }) => Promise<void>;

function fakeKafka(failures: number, error = 'This server is not the leader for that topic-partition', onFetch?: (n: number) => void) {
  const calls = { adminConnects: 0, adminDisconnects: 0, consumerDisconnects: 0, fetchOffsets: 0, seeks: [] as string[] };
  let eachBatch: EachBatch | undefined;
  const kafka = {
    admin: () => ({
      connect: async () => void calls.adminConnects++,
      disconnect: async () => void calls.adminDisconnects++,
      listTopics: async () => ['meta.published', 'meta.consumed', 'other'],
      fetchTopicOffsets: async () => {
        calls.fetchOffsets++;
        onFetch?.(calls.fetchOffsets);
        if (calls.fetchOffsets <= failures) throw new Error(error);
        return [{ partition: 0, offset: '5', high: '5', low: '0' }];
      },
      fetchTopicOffsetsByTimestamp: async () => [{ partition: 0, offset: '3' }],
    }),
    consumer: () => ({
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async (o: { eachBatch: EachBatch }) => void (eachBatch = o.eachBatch),
      seek: (s: { topic: string; partition: number; offset: string }) => void calls.seeks.push(`${s.topic}:${s.partition}@${s.offset}`),
      disconnect: async () => void calls.consumerDisconnects++,
    }),
  } as unknown as KafkaClient;
  return { kafka, calls, deliver: (b: Parameters<EachBatch>[0]) => eachBatch!(b) };
}

const report = (count: number) =>
  Buffer.from(
    toBinary(
      MetaReportSchema,
      create(MetaReportSchema, {
        service: 'rating-producer',
        instanceId: 'i1',
        action: MetaReport_Action.PUBLISHED,
        topic: 'ratings',
        windowStartMs: 1000n,
        windowEndMs: 2000n,
        count: BigInt(count),
        bytes: 10n,
      }),
    ),
  );

/** Follows with 1 ms between attempts, keeping what it reports and warns. */
async function followWithRetries(kafka: KafkaClient) {
  const got: MetaPoint[] = [];
  const warnings: string[] = [];
  const follower = await followMetaReports({
    kafka,
    prefix: 'meta',
    sinceMs: 1,
    groupId: 'g',
    signal: new AbortController().signal,
    onReport: (p) => got.push(p),
    warn: (m) => warnings.push(m),
    retryDelayMs: () => 1,
  });
  return { follower, got, warnings };
}

describe('followMetaReports', () => {
  it('retries after a not-leader error until it follows, quietly (an expected moment of a new topic), then delivers every report', async () => {
    const { kafka, calls, deliver } = fakeKafka(3);
    const { follower, got, warnings } = await followWithRetries(kafka);
    expect(follower).toBeDefined();
    expect(warnings).toEqual([]);
    // Every attempt's admin client is closed, not only the last one's.
    expect(calls.adminConnects).toBe(4);
    expect(calls.adminDisconnects).toBe(4);
    // Positioned at the first offset at or after sinceMs, on both topics.
    expect(calls.seeks.sort()).toEqual(['meta.consumed:0@3', 'meta.published:0@3']);
    await deliver({ batch: { topic: 'meta.published', partition: 0, messages: [{ value: report(7) }, { value: report(5) }] } });
    expect(got.map((p) => p.count)).toEqual([7, 5]);
  });

  it('warns of every failed attempt whose error is not an expected, retried condition', async () => {
    const { kafka, calls } = fakeKafka(2, 'disk full on the broker');
    const { follower, warnings } = await followWithRetries(kafka);
    expect(follower).toBeDefined();
    expect(calls.adminConnects).toBe(3);
    expect(warnings).toEqual([expect.stringMatching(/attempt 1.*disk full/), expect.stringMatching(/attempt 2.*disk full/)]);
  });

  it('passes restore reports to onRestore, never to onReport (they are not message counts)', async () => {
    const { kafka, deliver } = fakeKafka(0);
    const got: MetaPoint[] = [];
    const restores: RestoreEvent[] = [];
    await followMetaReports({
      kafka,
      prefix: 'meta',
      sinceMs: 1,
      groupId: 'g',
      signal: new AbortController().signal,
      onReport: (p) => got.push(p),
      onRestore: (r) => restores.push(r),
    });
    const restore = Buffer.from(
      toBinary(
        MetaReportSchema,
        create(MetaReportSchema, {
          service: 'movie-data-sink',
          instanceId: 's1',
          action: MetaReport_Action.RESTORE_STARTED,
          topic: 'movies',
          windowStartMs: 1500n,
          windowEndMs: 1500n,
          restore: { groupId: 'sinks', partition: 4 },
        }),
      ),
    );
    await deliver({
      batch: { topic: 'meta.consumed', partition: 0, messages: [{ value: report(7) }, { value: restore }, { value: report(5) }] },
    });
    expect(got.map((p) => p.count)).toEqual([7, 5]);
    expect(restores).toEqual([
      {
        action: 'restore-started',
        service: 'movie-data-sink',
        instanceId: 's1',
        groupId: 'sinks',
        topic: 'movies',
        partition: 4,
        startedMs: 1500,
      },
    ]);
  });

  it('stops retrying when aborted', async () => {
    const ac = new AbortController();
    const { kafka, calls } = fakeKafka(Number.MAX_SAFE_INTEGER, undefined, (n) => n === 5 && ac.abort());
    const following = followMetaReports({
      kafka,
      prefix: 'meta',
      sinceMs: 1,
      groupId: 'g',
      signal: ac.signal,
      onReport: () => undefined,
      retryDelayMs: () => 0,
    });
    await expect(following).resolves.toBeUndefined();
    expect(calls.fetchOffsets).toBe(5);
  });
});
