import { createLogger } from '@movie-stream/logging';
import { OffsetCommits } from './offset-commits';

const logger = createLogger({ service: 'test', level: 'error', format: 'json' });

/** A consumer that records what was committed, in order. */
function fakeConsumer() {
  const commits: { topic: string; partition: number; offset: string }[][] = [];
  return {
    commits,
    consumer: { commitOffsets: async (list: { topic: string; partition: number; offset: string }[]) => void commits.push(list) },
  };
}

describe('OffsetCommits', () => {
  it("commits a gained partition's join position at the next heartbeat, not at the join", async () => {
    const { commits, consumer } = fakeConsumer();
    const c = new OffsetCommits(consumer as never, ['t'], () => true, logger);
    c.onJoin([0], [{ topic: 't', partition: 0, offset: '5' }]);
    expect(commits).toEqual([]);
    await c.retry();
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '5' }]]);
    await c.retry();
    expect(commits).toHaveLength(1);
  });

  it("never commits a join position after a durable commit of the same partition (it would set the group's offset back)", async () => {
    const { commits, consumer } = fakeConsumer();
    const c = new OffsetCommits(consumer as never, ['t'], () => true, logger);
    c.onJoin(
      [0, 1],
      [
        { topic: 't', partition: 0, offset: '0' },
        { topic: 't', partition: 1, offset: '0' },
      ],
    );
    await c.commit({ t: { '0': '320' } });
    await c.retry();
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '320' }], [{ topic: 't', partition: 1, offset: '0' }]]);
  });

  it('commits again after a join what KafkaJS dropped while its consumer restarted (it resolves such a commit unsent)', async () => {
    let running = true;
    const commits: unknown[] = [];
    const consumer = {
      commitOffsets: async (list: unknown[]) => {
        if (running) commits.push(list);
      },
    };
    const c = new OffsetCommits(consumer as never, ['t'], () => true, logger);
    await c.commit({ t: { '0': '3', '1': '5' } });
    running = false;
    await c.commit({ t: { '0': '9', '1': '7' } });
    running = true;
    await c.retry();
    // the restarted consumer joins again keeping partition 0; partition 1 went to another member
    c.onJoin([1], []);
    await c.retry();
    expect(commits).toEqual([
      [
        { topic: 't', partition: 0, offset: '3' },
        { topic: 't', partition: 1, offset: '5' },
      ],
      [{ topic: 't', partition: 0, offset: '9' }],
    ]);
    await c.retry();
    expect(commits).toHaveLength(2);
  });

  it('commits only what the member owns and only the consumed topics', async () => {
    const { commits, consumer } = fakeConsumer();
    const c = new OffsetCommits(consumer as never, ['t'], (p) => p === 1, logger);
    await c.commit({ t: { '0': '7', '1': '8' }, other: { '1': '9' } });
    expect(commits).toEqual([[{ topic: 't', partition: 1, offset: '8' }]]);
  });

  it('retries a failed commit with the newest offsets at the next heartbeat', async () => {
    let fail = true;
    const commits: unknown[] = [];
    const consumer = {
      commitOffsets: async (list: unknown[]) => {
        if (fail) throw new Error('coordinator moved');
        commits.push(list);
      },
    };
    const c = new OffsetCommits(consumer as never, ['t'], () => true, logger);
    await c.commit({ t: { '0': '3' } });
    await c.commit({ t: { '0': '4' } });
    fail = false;
    await c.retry();
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '4' }]]);
  });
});
