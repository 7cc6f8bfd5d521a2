// Expected Kafka conditions (issue 20): classified, logged at debug and counted, and surfaced once they go on
// past the bound. All in memory, with a fake clock.
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, logLevel, LogEntry } from './kafkajs';
import {
  ConditionStreaks,
  describeExpectedConditions,
  EXPECTED_BROKER_ERRORS,
  EXPECTED_CONDITION_BOUND_MS,
  expectedCondition,
  expectedConditionCounts,
  reportRetriedFailure,
} from './expected-conditions';
import { kafkaLogBridge } from './kafka-factory';
import { retryForever } from './kafka-client';

const { createErrorFromCode, errorCodes } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error & { type: string };
  errorCodes: { type: string; code: number; message: string }[];
};

/** A logger that keeps what it is given, by level. */
function recorder() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}

/** A clock the test moves. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** A KafkaJS log entry as its logger hands it to a log creator. */
const entry = (level: number, namespace: string, message: string, extra: object = {}): LogEntry => ({
  namespace,
  level,
  label: '',
  log: { timestamp: 'now', logger: 'kafkajs', message, ...extra },
});

/** The line KafkaJS's Connection logs for an error response, e.g. of a fresh topic's ListOffsets. */
const responseError = (type: string) =>
  entry(logLevel.ERROR, 'Connection', 'Response ListOffsets(key: 2, version: 3)', {
    broker: '127.0.0.1:9092',
    clientId: 'c',
    error: EXPECTED_BROKER_ERRORS[type],
    correlationId: 7,
    size: 60,
  });

describe('expectedCondition', () => {
  it('names the broker errors as KafkaJS 2.2.4 does (type and message)', () => {
    for (const [type, message] of Object.entries(EXPECTED_BROKER_ERRORS)) {
      expect(errorCodes.find((c) => c.type === type)?.message).toBe(message);
    }
  });

  it("recognizes KafkaJS's own errors for leader elections, coordinators and rebalances, however wrapped", () => {
    // 6 NOT_LEADER_OR_FOLLOWER, 5 LEADER_NOT_AVAILABLE, 3 UNKNOWN_TOPIC_OR_PARTITION, 14/15/16 coordinator, 27 rebalance.
    const expected = [6, 5, 3, 14, 15, 16, 27].map((code) => createErrorFromCode(code));
    for (const e of expected) {
      expect(expectedCondition(e)).toBe(e.type);
      expect(expectedCondition(new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 8, retryTime: 10_000 }))).toBe(e.type);
      expect(expectedCondition(new Error('wrapped', { cause: e }))).toBe(e.type);
      expect(expectedCondition(Object.assign(new Error('aggregate'), { errors: [new Error('other'), e] }))).toBe(e.type);
      // By message alone (an error that lost its type on the way).
      expect(expectedCondition(new Error(`fetch failed: ${e.message}`))).toBe(e.type);
    }
    expect(
      expectedCondition(Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' })),
    ).toBe('GROUP_COORDINATOR_NOT_AVAILABLE');
  });

  it('leaves everything else alone: refusals, authentication, connections, plain errors', () => {
    // 10 MESSAGE_TOO_LARGE, 29 TOPIC_AUTHORIZATION_FAILED, 58 SASL_AUTHENTICATION_FAILED, 19 NOT_ENOUGH_REPLICAS.
    for (const code of [10, 29, 58, 19]) expect(expectedCondition(createErrorFromCode(code))).toBeUndefined();
    expect(expectedCondition(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBeUndefined();
    expect(expectedCondition(new Error('disk full'))).toBeUndefined();
    expect(expectedCondition(undefined)).toBeUndefined();
    expect(expectedCondition('LEADER_NOT_AVAILABLE')).toBeUndefined();
  });
});

describe('ConditionStreaks', () => {
  it('surfaces a streak once, at the first occurrence at or past the bound; a gap of the bound starts a new one', () => {
    const clock = fakeClock();
    const streaks = new ConditionStreaks(30_000, clock.now);
    const surfaced: number[] = [];
    for (let s = 0; s <= 60; s += 5) {
      if (streaks.note('LEADER_NOT_AVAILABLE').surface) surfaced.push(s);
      clock.advance(5_000);
    }
    expect(surfaced).toEqual([30]);
    // Other keys have streaks of their own.
    expect(streaks.note('REBALANCE_IN_PROGRESS')).toEqual({ count: 1, lastedMs: 0, surface: false });
    clock.advance(30_000);
    expect(streaks.note('LEADER_NOT_AVAILABLE')).toEqual({ count: 1, lastedMs: 0, surface: false });
  });
});

describe('kafkaLogBridge', () => {
  it("logs KafkaJS's lines about a fresh topic's leader election at debug, counted, not as warnings or errors", () => {
    const { lines, logger } = recorder();
    const bridge = kafkaLogBridge(logger);
    const before = expectedConditionCounts().NOT_LEADER_FOR_PARTITION ?? 0;
    bridge(responseError('NOT_LEADER_FOR_PARTITION'));
    bridge(responseError('NOT_LEADER_FOR_PARTITION'));
    bridge(responseError('LEADER_NOT_AVAILABLE'));
    bridge(entry(logLevel.ERROR, 'Producer', `Failed to send messages: ${EXPECTED_BROKER_ERRORS.UNKNOWN_TOPIC_OR_PARTITION}`));
    bridge(entry(logLevel.WARN, 'Runner', 'The group is rebalancing, re-joining', { error: EXPECTED_BROKER_ERRORS.REBALANCE_IN_PROGRESS }));
    expect(lines.map((l) => l.level)).toEqual(['debug', 'debug', 'debug', 'debug', 'debug']);
    expect(lines[1].message).toBe(
      `kafkajs Connection: Response ListOffsets(key: 2, version: 3) (NOT_LEADER_FOR_PARTITION: expected, retried; ${before + 2} in this process)`,
    );
    expect(expectedConditionCounts().NOT_LEADER_FOR_PARTITION).toBe(before + 2);
    expect(describeExpectedConditions()).toMatch(/LEADER_NOT_AVAILABLE \d+, NOT_LEADER_FOR_PARTITION \d+/);
  });

  it('logs the warning about the transactional writer limiting KafkaJS retries (on purpose) at debug', () => {
    const { lines, logger } = recorder();
    kafkaLogBridge(logger)(entry(logLevel.WARN, 'Producer', 'Limiting retries for the idempotent producer may invalidate EoS guarantees'));
    expect(lines.map((l) => l.level)).toEqual(['debug']);
  });

  it('keeps other lines where they were: errors, a crash after KafkaJS gave up, a failed connection at debug', () => {
    const { lines, logger } = recorder();
    const bridge = kafkaLogBridge(logger);
    bridge(
      entry(logLevel.ERROR, 'Connection', 'Response Produce(key: 0, version: 7)', {
        error: 'The request included a message larger than the max message size the server will accept',
      }),
    );
    bridge(entry(logLevel.ERROR, 'Consumer', `Crash: KafkaJSNumberOfRetriesExceeded: ${EXPECTED_BROKER_ERRORS.LEADER_NOT_AVAILABLE}`));
    bridge(entry(logLevel.ERROR, 'Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    bridge(entry(logLevel.WARN, 'Admin', 'Could not create topics', { error: 'Topic with this name already exists' }));
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'warn kafkajs Connection: Response Produce(key: 0, version: 7)',
      `error kafkajs Consumer: Crash: KafkaJSNumberOfRetriesExceeded: ${EXPECTED_BROKER_ERRORS.LEADER_NOT_AVAILABLE}`,
      'debug kafkajs Connection: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      'warn kafkajs Admin: Could not create topics',
    ]);
  });

  it('warns once about a leader election that goes on past the bound, then is quiet again for the rest of that streak', () => {
    const clock = fakeClock();
    const { lines, logger } = recorder();
    const bridge = kafkaLogBridge(logger, { now: clock.now });
    // KafkaJS retrying a ListOffsets every 2 s for 50 s: no leader all along.
    for (let s = 0; s <= 50; s += 2) {
      bridge(responseError('LEADER_NOT_AVAILABLE'));
      clock.advance(2_000);
    }
    const warnings = lines.filter((l) => l.level !== 'debug');
    expect(warnings).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(
          /^kafkajs Connection: Response ListOffsets\(key: 2, version: 3\) \(LEADER_NOT_AVAILABLE has gone on for 30\.0 s, 16 times, longer than expected; still retried\)$/,
        ),
      },
    ]);
    // Later, a new election (a fresh topic) that passes quickly: debug only.
    clock.advance(EXPECTED_CONDITION_BOUND_MS);
    const before = lines.length;
    bridge(responseError('LEADER_NOT_AVAILABLE'));
    expect(lines.slice(before).map((l) => l.level)).toEqual(['debug']);
  });
});

describe('retryForever and expected conditions', () => {
  it('retries a leader election at debug, with a summary at debug when it succeeds', async () => {
    const { lines, logger } = recorder();
    let n = 0;
    const result = await retryForever(
      'following t.published',
      async () => {
        if (++n < 3) throw new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(6), { retryCount: 8, retryTime: 300 });
        return 'following';
      },
      logger,
      undefined,
      () => 0,
    );
    expect(result).toBe('following');
    expect(lines.map((l) => l.level)).toEqual(['debug', 'debug', 'debug']);
    expect(lines[0].message).toMatch(
      /^following t\.published failed \(attempt 1\): NOT_LEADER_FOR_PARTITION, expected \(\d+ in this process\); retrying in 0\.0 s: /,
    );
    expect(lines[2].message).toBe('following t.published succeeded at attempt 3, after retrying NOT_LEADER_FOR_PARTITION ×2 (expected)');
  });

  it('warns once about a leader-not-available that goes on past the bound, and says when it has passed', async () => {
    const clock = fakeClock();
    const { lines, logger } = recorder();
    let n = 0;
    await retryForever(
      'reading the offsets of t',
      async () => {
        // Each attempt takes 4 s (KafkaJS's own retries); no leader for the first 60 s.
        clock.advance(4_000);
        if (++n <= 15) throw createErrorFromCode(5);
        return n;
      },
      logger,
      undefined,
      () => 0,
      { now: clock.now },
    );
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^reading the offsets of t failed \(attempt 9\): LEADER_NOT_AVAILABLE has gone on for 32\.0 s, longer than expected; retrying in 0\.0 s: There is no leader/,
      ),
    ]);
    expect(lines.filter((l) => l.level === 'info').map((l) => l.message)).toEqual([
      'reading the offsets of t succeeded at attempt 16, after LEADER_NOT_AVAILABLE ×15',
    ]);
  });

  it('still warns about every failure that is not an expected condition', async () => {
    const { lines, logger } = recorder();
    let n = 0;
    await retryForever(
      'publish',
      async () => {
        if (++n < 3) throw new Error('broker unreachable');
      },
      logger,
      undefined,
      () => 0,
    );
    expect(lines.map((l) => l.level)).toEqual(['warn', 'warn']);
  });
});

describe('reportRetriedFailure', () => {
  it('logs an expected failure at debug until its streak lasts the bound, others at warn', () => {
    const clock = fakeClock();
    const { lines, logger } = recorder();
    const streaks = new ConditionStreaks(30_000, clock.now);
    const rebalancing = createErrorFromCode(27);
    for (let s = 0; s <= 40; s += 10) {
      reportRetriedFailure(logger, streaks, 'commit', 'offset commit failed', rebalancing);
      clock.advance(10_000);
    }
    reportRetriedFailure(logger, streaks, 'commit', 'offset commit failed: disk full', new Error('disk full'));
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      expect.stringMatching(/^debug offset commit failed \(REBALANCE_IN_PROGRESS: expected, retried; \d+ in this process\)$/),
      expect.stringMatching(/^debug /),
      expect.stringMatching(/^debug /),
      'warn offset commit failed (REBALANCE_IN_PROGRESS has gone on for 30.0 s, longer than expected)',
      expect.stringMatching(/^debug /),
      'warn offset commit failed: disk full',
    ]);
  });
});
