import type { GroupView } from '@movie-stream/messaging';
import { claimed, restartSchedule } from './rolling-restart';

describe('restartSchedule', () => {
  it('restarts every processor instance, then every sink instance, each once', () => {
    expect(restartSchedule(3, 2)).toEqual([
      { app: 'mean-rating-processor', instance: 0 },
      { app: 'mean-rating-processor', instance: 1 },
      { app: 'mean-rating-processor', instance: 2 },
      { app: 'movie-data-sink', instance: 0 },
      { app: 'movie-data-sink', instance: 1 },
    ]);
    expect(restartSchedule(1, 1)).toHaveLength(2);
  });
});

describe('claimed', () => {
  const view = (state: string, members: [string, number[]][]): GroupView => ({
    state,
    members: members.map(([memberId, partitions]) => ({ memberId, partitions })),
    owners: new Map(),
    readAt: 0,
  });
  const before = new Set(['a', 'b', 'c']);
  const o = { running: 3, before, partitions: 6 };

  it('holds once the group is Stable with a new member holding partitions and every partition assigned', () => {
    expect(
      claimed(
        view('Stable', [
          ['a', [0, 1]],
          ['b', [2, 3]],
          ['d', [4, 5]],
        ]),
        o,
      ),
    ).toBe(true);
  });
  it('not while the stopped member is still in the group, nor before the new one joined', () => {
    expect(
      claimed(
        view('Stable', [
          ['a', [0, 1]],
          ['b', [2, 3]],
          ['c', [4, 5]],
        ]),
        o,
      ),
    ).toBe(false);
    expect(
      claimed(
        view('Stable', [
          ['a', [0, 1, 2]],
          ['b', [3, 4, 5]],
        ]),
        o,
      ),
    ).toBe(false);
  });
  it('not during a rebalance, nor with the new member idle or a partition unassigned', () => {
    expect(
      claimed(
        view('PreparingRebalance', [
          ['a', [0, 1]],
          ['b', [2, 3]],
          ['d', [4, 5]],
        ]),
        o,
      ),
    ).toBe(false);
    expect(
      claimed(
        view('Stable', [
          ['a', [0, 1, 2]],
          ['b', [3, 4, 5]],
          ['d', []],
        ]),
        o,
      ),
    ).toBe(false);
    expect(
      claimed(
        view('Stable', [
          ['a', [0, 1]],
          ['b', [2, 3]],
          ['d', [4]],
        ]),
        o,
      ),
    ).toBe(false);
  });
  it('a member beyond the partitions may hold none', () => {
    expect(
      claimed(
        view('Stable', [
          ['a', [0]],
          ['d', []],
        ]),
        { running: 2, before: new Set(['a', 'b']), partitions: 1 },
      ),
    ).toBe(true);
  });
});
