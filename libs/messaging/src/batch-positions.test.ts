import { BatchPositions } from './batch-positions';
import type { KafkaMessage } from './kafkajs';

const msgs = (from: number, to: number): KafkaMessage[] =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => ({ offset: String(from + i), timestamp: '0', key: null, value: Buffer.from([i]) }) as unknown as KafkaMessage,
  );

describe('BatchPositions', () => {
  it('drops replays before the state offset and hands on the rest, resolving past a trailing commit marker', () => {
    const p = new BatchPositions();
    const v = p.classify('t', 0, msgs(5, 9), '10', 7n, 7n);
    expect('batch' in v && v.batch?.messages.map((m) => m.offset)).toEqual(['7', '8', '9']);
    expect(v).toMatchObject({ last: '10', batch: { nextOffset: '11', last: { offset: '9' } } });
    expect(p.skippedReplays).toBe(2);
  });

  it("seeks back when a partition's first batch after a join starts past the state, only on that first batch", () => {
    const p = new BatchPositions();
    expect(p.classify('t', 0, msgs(20, 21), '21', 3n, 3n)).toEqual({ seekBack: 3n });
    expect(p.classify('t', 0, msgs(3, 4), '4', 3n, 3n)).toMatchObject({ last: '4' });
    // Later batches continue even with a gap (compaction, aborted records).
    expect(p.classify('t', 0, msgs(30, 31), '31', 5n, 5n)).toMatchObject({ last: '31', batch: { nextOffset: '32' } });
    p.joined();
    expect(p.classify('t', 0, msgs(30, 31), '31', 5n, 5n)).toEqual({ seekBack: 5n });
  });

  it('a batch entirely replayed hands nothing on, and past held messages only what follows them is new', () => {
    const p = new BatchPositions();
    expect(p.classify('t', 1, msgs(0, 4), '4', 0n, 10n)).toEqual({ last: '4' });
    expect(p.skippedReplays).toBe(5);
  });
});
