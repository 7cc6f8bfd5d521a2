// The monitor's restore table: reports made by the services' MetaReporter, decoded as the monitor decodes
// them from the meta topic, into the RestoreTracker.
import { createLogger } from '@movie-stream/logging';
import { MetaReporter } from '@movie-stream/messaging';
import { create, MetaReport_Action, MetaReportSchema, toBinary } from '@movie-stream/schema';
import { decodeMetaReport, isRestore } from './meta-reader';
import { RestoreEvent, RestoreTracker } from './restores';
import { MetaSeries } from './series';

const logger = createLogger({ service: 't', level: 'error', format: 'json' });
const topics = { metaPublished: 'meta.published', metaConsumed: 'meta.consumed' };

/** One service instance whose reports land, decoded, in `out` (counts and restores alike). */
function instance(service: string, instanceId: string, clock: { now: number }, out: ReturnType<typeof decodeMetaReport>[]) {
  return new MetaReporter({
    service,
    instanceId,
    topics,
    windowMs: 1000,
    logger,
    now: () => clock.now,
    sink: { send: async (_t, msgs) => void out.push(...msgs.map((m) => decodeMetaReport(m.value))) },
  });
}

const finished = (e: Partial<RestoreEvent> & Pick<RestoreEvent, 'instanceId' | 'partition' | 'startedMs'>): RestoreEvent => ({
  action: 'restore-finished',
  service: 'p',
  groupId: 'g',
  topic: 'ratings',
  finishedMs: e.startedMs + (e.ms ?? 0),
  source: 'changelog',
  recordsRead: 0,
  rowsRestored: 0,
  ms: 0,
  ...e,
});
const started = (e: Pick<RestoreEvent, 'instanceId' | 'partition' | 'startedMs'>): RestoreEvent => ({
  action: 'restore-started',
  service: 'p',
  groupId: 'g',
  topic: 'ratings',
  ...e,
});

describe('RestoreTracker', () => {
  it('shows a restore in progress from its start report and finished from its end report, and counts no messages', async () => {
    const clock = { now: 100_000 };
    const decoded: ReturnType<typeof decodeMetaReport>[] = [];
    const r = instance('mean-rating-processor', 'a', clock, decoded);
    r.record('consumed', 'ratings', 40, 400);
    r.restoreStarted({ groupId: 'movie-stream.mean-rating-processor', topic: 'ratings', partition: 2 });
    r.restoreStarted({ groupId: 'movie-stream.mean-rating-processor', topic: 'ratings', partition: 5 });
    await r.flush(false);
    const tracker = new RestoreTracker();
    const series = new MetaSeries();
    const feed = () => {
      for (const d of decoded.splice(0)) {
        if (isRestore(d)) tracker.add(d);
        else series.add(d);
      }
    };
    feed();
    expect(tracker.view().inProgress.map((x) => [x.instanceId, x.partition, x.startedMs, x.finishedMs])).toEqual([
      ['a', 2, 100_000, undefined],
      ['a', 5, 100_000, undefined],
    ]);
    expect(tracker.view().recent).toEqual([]);
    clock.now = 100_700;
    r.restoreFinished({
      groupId: 'movie-stream.mean-rating-processor',
      topic: 'ratings',
      partition: 5,
      source: 'changelog',
      recordsRead: 1234,
      rowsRestored: 321,
      ms: 700,
    });
    await r.close();
    feed();
    const v = tracker.view();
    expect(v.inProgress.map((x) => x.partition)).toEqual([2]);
    expect(v.recent).toEqual([
      {
        service: 'mean-rating-processor',
        instanceId: 'a',
        groupId: 'movie-stream.mean-rating-processor',
        topic: 'ratings',
        partition: 5,
        startedMs: 100_000,
        finishedMs: 100_700,
        source: 'changelog',
        recordsRead: 1234,
        rowsRestored: 321,
        ms: 700,
      },
    ]);
    // Only the 40 consumed messages are in the totals; the restores' reports are not.
    expect(series.summary().map((s) => [s.action, s.topic, s.messages])).toEqual([['consumed', 'ratings', 40]]);
  });

  it('drops an unfinished restore when another instance restores the partition later, but not when an older one finishes', () => {
    const t = new RestoreTracker();
    t.add(started({ instanceId: 'a', partition: 1, startedMs: 1000 }));
    t.add(started({ instanceId: 'a', partition: 2, startedMs: 1000 }));
    // a crashed mid-restore; b took partition 1 over.
    t.add(started({ instanceId: 'b', partition: 1, startedMs: 5000 }));
    expect(t.view().inProgress.map((x) => [x.instanceId, x.partition])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    // c started 2 before a's (older) restore of it finished: a zombie's end must not hide c's restore.
    t.add(started({ instanceId: 'c', partition: 2, startedMs: 6000 }));
    t.add(finished({ instanceId: 'a', partition: 2, startedMs: 1000, ms: 5500 }));
    expect(t.view().inProgress.map((x) => [x.instanceId, x.partition])).toEqual([
      ['b', 1],
      ['c', 2],
    ]);
    // A finish without its start (before the monitor's history window) still counts as finished.
    t.add(finished({ instanceId: 'd', partition: 3, startedMs: 7000, ms: 10 }));
    t.add(finished({ instanceId: 'b', partition: 1, startedMs: 5000, ms: 3000 }));
    expect(t.view().inProgress.map((x) => [x.instanceId, x.partition])).toEqual([['c', 2]]);
    // Newest end first.
    expect(t.view().recent.map((x) => [x.instanceId, x.partition, x.finishedMs])).toEqual([
      ['b', 1, 8000],
      ['d', 3, 7010],
      ['a', 2, 6500],
    ]);
  });

  it('keeps the last N finished per instance, at most recentLimit in a view, and forgets what is older than the retention', () => {
    const t = new RestoreTracker({ keepPerInstance: 3, recentLimit: 5, retentionMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      t.add(finished({ instanceId: 'a', partition: i, startedMs: 1000 * i }));
      t.add(finished({ instanceId: 'b', partition: i, startedMs: 1000 * i + 500 }));
    }
    const recent = t.view().recent;
    expect(recent.map((x) => `${x.instanceId}${x.partition}`)).toEqual(['b9', 'a9', 'b8', 'a8', 'b7']);
    t.add(started({ instanceId: 'c', partition: 0, startedMs: 20_000 }));
    // 80 s later: everything above is older than the retention, the new start is not.
    t.add(started({ instanceId: 'c', partition: 1, startedMs: 100_000 }));
    expect(t.view()).toEqual({ inProgress: [expect.objectContaining({ instanceId: 'c', partition: 1 })], recent: [] });
  });
});

describe('decodeMetaReport of restore reports', () => {
  it('refuses a restore report without its details and an unknown action, naming them', () => {
    const bad = (action: number) =>
      Buffer.from(toBinary(MetaReportSchema, create(MetaReportSchema, { service: 's', action: action as MetaReport_Action })));
    expect(() => decodeMetaReport(bad(MetaReport_Action.RESTORE_FINISHED))).toThrow(
      'a restore report (action RESTORE_FINISHED) without its restore details',
    );
    expect(() => decodeMetaReport(bad(9))).toThrow('unknown action 9');
  });
});
