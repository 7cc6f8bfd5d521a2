import { newRunId, runMetaPrefix, runsOf } from './runs';

describe('run naming', () => {
  it('finds the newest run among several, from the topic names alone', () => {
    const older = newRunId(Date.UTC(2026, 0, 1), 4242);
    const newest = newRunId(Date.UTC(2026, 5, 1), 7);
    const middle = newRunId(Date.UTC(2026, 2, 1), 99_999);
    const topics = [
      'ratings',
      'meta.published',
      'meta.consumed',
      `${older}.ratings`,
      `${older}.meta.published`,
      `${older}.meta.consumed`,
      `${newest}.meta.published`,
      `${newest}.meta.consumed`,
      `${newest}.ratings.dlq`,
      `${middle}.meta.consumed`,
      // Not a run's meta topic: other tools' prefixes, a dead-letter topic, a look-alike.
      'bench-zzzzzzzz-1.meta.published',
      `${newest}.meta.published.dlq`,
      'run-notbase36!-1.meta.published',
    ];
    expect(runsOf(topics)).toEqual([
      { runId: newest, startedMs: Date.UTC(2026, 5, 1), metaPrefix: `${newest}.meta` },
      { runId: middle, startedMs: Date.UTC(2026, 2, 1), metaPrefix: `${middle}.meta` },
      { runId: older, startedMs: Date.UTC(2026, 0, 1), metaPrefix: `${older}.meta` },
    ]);
    expect(runsOf(['ratings', 'meta.published'])).toEqual([]);
  });

  it('names a run by its start time and pid', () => {
    expect(newRunId(1_700_000_000_000, 12)).toBe(`run-${(1_700_000_000_000).toString(36)}-12`);
    expect(runMetaPrefix('run-x-1')).toBe('run-x-1.meta');
  });
});
