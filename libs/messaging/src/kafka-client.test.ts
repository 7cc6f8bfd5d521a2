import { pendingRetries, retryForever } from './kafka-client';

const quiet = { warn: () => undefined };
const never = <T>() => new Promise<T>(() => undefined);

describe('retryForever and abort', () => {
  it('ends the backoff sleep at once when the signal aborts, with no further attempt', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const warnings: string[] = [];
    const result = retryForever(
      'publish',
      async () => {
        attempts++;
        throw new Error('broker unreachable');
      },
      // The first failure is logged just before the sleep: abort then.
      { warn: (m: string) => void (warnings.push(m), controller.abort(new Error('SIGTERM received'))) },
      controller.signal,
      () => 3_600_000, // an hour: the test would time out if the sleep ignored the abort
    );
    await expect(result).rejects.toThrow('SIGTERM received');
    expect(attempts).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/^publish failed \(attempt 1\), retrying in 3600\.0 s: broker unreachable/)]);
  });

  it('lets the attempt in progress at the abort finish, and returns its result', async () => {
    const controller = new AbortController();
    let release: (v: string) => void = () => undefined;
    const result = retryForever('publish', () => new Promise<string>((r) => (release = r)), quiet, controller.signal);
    controller.abort(new Error('SIGTERM received'));
    release('acknowledged');
    await expect(result).resolves.toBe('acknowledged');
  });

  it('starts no new attempt after the abort when the attempt in progress fails', async () => {
    const controller = new AbortController();
    let attempts = 0;
    let fail: (e: Error) => void = () => undefined;
    const result = retryForever(
      'publish',
      () => {
        attempts++;
        return new Promise<void>((_, reject) => (fail = reject));
      },
      quiet,
      controller.signal,
      () => 0,
    );
    controller.abort(new Error('SIGTERM received'));
    fail(new Error('request timed out'));
    await expect(result).rejects.toThrow('request timed out');
    expect(attempts).toBe(1);
  });

  it('with abandonOnAbort, gives up on an attempt that never settles as soon as the signal aborts', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const result = retryForever(
      'connect',
      () => (attempts++, never<void>()),
      quiet,
      controller.signal,
      () => 0,
      { abandonOnAbort: true },
    );
    controller.abort(new Error('SIGTERM received'));
    await expect(result).rejects.toThrow('SIGTERM received');
    expect(attempts).toBe(1);
    expect(pendingRetries()).toEqual([]);
  });

  it('with abandonOnAbort and a signal aborted already, starts no attempt', async () => {
    const controller = new AbortController();
    controller.abort(new Error('SIGTERM received'));
    let attempts = 0;
    await expect(
      retryForever(
        'connect',
        async () => void attempts++,
        quiet,
        controller.signal,
        () => 0,
        { abandonOnAbort: true },
      ),
    ).rejects.toThrow('SIGTERM received');
    expect(attempts).toBe(0);
  });
});

describe('pendingRetries', () => {
  it('names each loop under way with its attempt and last error, and forgets it when done', async () => {
    let attempts = 0;
    let release: () => void = () => undefined;
    let third: () => void = () => undefined;
    const reachedThird = new Promise<void>((r) => (third = r));
    const result = retryForever(
      'publish of 3 messages to ratings[1]',
      () => {
        attempts++;
        if (attempts < 3) return Promise.reject(new Error(`timeout ${attempts}`));
        third();
        return new Promise<void>((r) => (release = r));
      },
      quiet,
      undefined,
      () => 0,
    );
    await reachedThird;
    expect(pendingRetries()).toEqual([
      expect.stringMatching(/^publish of 3 messages to ratings\[1\] \(attempt 3 since \d+\.\d s; last error: timeout 2\)$/),
    ]);
    release();
    await result;
    expect(pendingRetries()).toEqual([]);
  });
});
