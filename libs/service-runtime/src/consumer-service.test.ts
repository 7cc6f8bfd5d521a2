// runConsumerService's own order and failure handling, over an in-memory backend and a fake Kafka side:
// what both modes rely on (commit only after the state is final, a failure exits 1 with everything closed).
import { StateMismatchError, TopicLayoutError } from '@movie-stream/messaging';
import { ConsumerServiceContext, KafkaSide, runConsumerService, ServiceConsumer, StateBackend } from './consumer-service';

function harness(opts: { startError?: Error } = {}) {
  const events: string[] = [];
  const controller = new AbortController();
  let failWith: (e: Error) => void = () => undefined;
  let started: () => void = () => undefined;
  const running = new Promise<void>((r) => (started = r));
  const consumer: ServiceConsumer = {
    failed: new Promise<Error>((resolve) => (failWith = resolve)),
    skippedReplays: 3,
    runningPartitions: () => new Map<number, number>(),
    start: async () => {
      events.push('consumer.start');
      if (opts.startError) throw opts.startError;
      started();
    },
    commit: async (offsets) => void events.push(`commit ${JSON.stringify(offsets)}`),
    beginStop: async () => void events.push('consumer.beginStop'),
    stop: async () => void events.push('consumer.stop'),
  };
  const side: KafkaSide = {
    admin: { disconnect: async () => void events.push('admin.disconnect') } as unknown as KafkaSide['admin'],
    publisher: { disconnect: async () => void events.push('publisher.disconnect') } as unknown as KafkaSide['publisher'],
    meta: { close: async () => void events.push('meta.close') } as unknown as KafkaSide['meta'],
    connect: async () => void events.push('kafka.connect'),
    consumer: () => consumer,
  };
  const stored = new Map<string, number>();
  const backend: StateBackend<{ rows: number; skippedReplays: number }> = {
    steps: { beginStop: 'b', stopPeriodic: 'p', close: 'c' },
    open: async () => void events.push('backend.open'),
    consumerParts: async () => ({
      checkpoint: { nextOffset: () => undefined },
      handle: async (batch) => void stored.set(`${batch.partition}`, Number(batch.nextOffset)),
    }),
    startPeriodic: () => void events.push('backend.startPeriodic'),
    stopPeriodic: async () => void events.push('backend.stopPeriodic'),
    finish: async (c) => {
      events.push('backend.finish');
      await c.commit({ t: { '0': '5' } });
    },
    closeKafka: async () => void events.push('backend.closeKafka'),
    close: async () => void events.push('backend.close'),
    mismatch: (e) => new Error(`advice: ${e.message}`),
    result: (c) => ({ rows: stored.size, skippedReplays: c.skippedReplays }),
  };
  const ctx = {
    service: 'test-service',
    config: { brokers: ['127.0.0.1:1'] },
    logger: { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined },
    kafka: {},
    signal: controller.signal,
    health: { state: 'starting' },
    step: (s: string) => void events.push(`step ${s}`),
  } as unknown as ConsumerServiceContext;
  const run = () => runConsumerService({ ctx, topics: ['t'] }, backend, () => side);
  return { events, controller, failWith, running, ctx, run };
}

/** What closes after the meta reporter, in this order, on a stop and after a failure alike. */
const CLOSES = ['meta.close', 'consumer.stop', 'backend.closeKafka', 'publisher.disconnect', 'admin.disconnect', 'backend.close'];

let stdout: jest.SpyInstance;
beforeEach(() => {
  stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  // Jest reuses its workers: a test file run before this one in the same process may have left an exit code.
  process.exitCode = undefined;
});
afterEach(() => {
  stdout.mockRestore();
  process.exitCode = undefined;
});

it('on a stop: the state is made final and committed before anything closes, then closes in order, result on stdout', async () => {
  const h = harness();
  const done = h.run();
  await h.running;
  h.controller.abort(new Error('SIGTERM received'));
  await expect(done).resolves.toEqual({ rows: 0, skippedReplays: 3 });
  expect(h.events.filter((e) => !e.startsWith('step'))).toEqual([
    'backend.open',
    'kafka.connect',
    'backend.startPeriodic',
    'consumer.start',
    'consumer.beginStop',
    'backend.stopPeriodic',
    'backend.finish',
    'commit {"t":{"0":"5"}}',
    ...CLOSES,
  ]);
  expect(stdout).toHaveBeenCalledWith(JSON.stringify({ result: { rows: 0, skippedReplays: 3 } }) + '\n');
  expect(h.ctx.health.state).toBe('stopping');
  expect(process.exitCode).toBeUndefined();
});

it('a consumer failure: health failed, exit code 1, everything closed, nothing committed, no result', async () => {
  const h = harness();
  const done = h.run();
  await h.running;
  h.failWith(new Error('a batch failed for good'));
  await expect(done).rejects.toThrow('a batch failed for good');
  expect(h.ctx.health.state).toBe('failed');
  expect(process.exitCode).toBe(1);
  const after = h.events.slice(h.events.indexOf('consumer.start') + 1);
  expect(after).toEqual(['backend.stopPeriodic', ...CLOSES]);
  expect(stdout).not.toHaveBeenCalled();
});

it("a state that does not belong to the topics refuses to start with the backend's advice; a layout error says so", async () => {
  const mismatch = harness({ startError: new StateMismatchError(['t:0 offset 9 past the end 3']) });
  await expect(mismatch.run()).rejects.toThrow(/^advice: the saved state does not belong to the topics/);
  expect([mismatch.ctx.health.state, process.exitCode]).toEqual(['failed', 1]);
  expect(mismatch.events).toContain('backend.close');

  process.exitCode = undefined;
  const layout = harness({
    startError: new TopicLayoutError([
      ['t', 3],
      ['u', 2],
    ]),
  });
  await expect(layout.run()).rejects.toThrow(/must have the same partition count: .*\. Refusing to start\.$/);
  expect([layout.ctx.health.state, process.exitCode]).toEqual(['failed', 1]);
});

it('any other start failure (e.g. a stop while connecting) closes what is open and leaves the exit code alone', async () => {
  const h = harness({ startError: new Error('SIGTERM received') });
  await expect(h.run()).rejects.toThrow('SIGTERM received');
  expect(h.events).toContain('admin.disconnect');
  expect(h.events).toContain('backend.close');
  expect([h.ctx.health.state, process.exitCode]).toEqual(['starting', undefined]);
});
