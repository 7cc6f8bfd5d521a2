// Kafka conditions that are part of ordinary operation and are retried: a fresh topic electing its leaders, a
// leader moving, a group coordinator loading, a rebalance. They are logged at debug and counted (the count is
// on /metrics and in a service's stop line), not warned about; one that goes on past EXPECTED_CONDITION_BOUND_MS
// is no longer ordinary and is warned about, once per streak (issue 20).

/**
 * The broker's error types (as KafkaJS 2.2.4 names them) that are expected and retried, with the message
 * KafkaJS gives each (how its log lines name them). NOT_LEADER_FOR_PARTITION is Kafka's NOT_LEADER_OR_FOLLOWER.
 */
export const EXPECTED_BROKER_ERRORS: Readonly<Record<string, string>> = {
  // Leadership: a fresh topic's election, a leader moving.
  LEADER_NOT_AVAILABLE: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
  NOT_LEADER_FOR_PARTITION: 'This server is not the leader for that topic-partition',
  UNKNOWN_TOPIC_OR_PARTITION: 'This server does not host this topic-partition',
  FENCED_LEADER_EPOCH: 'The leader epoch in the request is older than the epoch on the broker',
  UNKNOWN_LEADER_EPOCH: 'The leader epoch in the request is newer than the epoch on the broker',
  OFFSET_NOT_AVAILABLE:
    'The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing',
  NOT_CONTROLLER: 'This is not the correct controller for this cluster',
  // Group coordination: the coordinator loading or moving, a rebalance.
  GROUP_LOAD_IN_PROGRESS: "The coordinator is loading and hence can't process requests for this group",
  GROUP_COORDINATOR_NOT_AVAILABLE: 'The group coordinator is not available',
  NOT_COORDINATOR_FOR_GROUP: 'This is not the correct coordinator for this group',
  REBALANCE_IN_PROGRESS: 'The group is rebalancing, so a rejoin is needed',
  ILLEGAL_GENERATION: 'Specified group generation id is not valid',
};

/** KafkaJS's own errors (by name) for the same moments, as the condition they stand for. */
const EXPECTED_CLIENT_ERRORS: Readonly<Record<string, string>> = {
  KafkaJSGroupCoordinatorNotFound: 'GROUP_COORDINATOR_NOT_AVAILABLE',
  KafkaJSMetadataNotLoaded: 'STALE_METADATA',
  KafkaJSTopicMetadataNotLoaded: 'STALE_METADATA',
  KafkaJSStaleTopicMetadataAssignment: 'STALE_METADATA',
};

/** KafkaJS log lines (warnings of its own) about the same moments. */
const EXPECTED_LOG_LINES: [RegExp, string][] = [
  [/^The group is rebalancing, re-joining/, 'REBALANCE_IN_PROGRESS'],
  [/^Consumer is not aware of all assigned partitions|^Topic metadata not loaded|, resync group$/, 'STALE_METADATA'],
];

const BY_MESSAGE = new Map(Object.entries(EXPECTED_BROKER_ERRORS).map(([type, message]) => [message, type]));

/** The expected condition a message names (a broker error's message, anywhere in it), else undefined. */
export function conditionOfText(text: string): string | undefined {
  for (const [pattern, condition] of EXPECTED_LOG_LINES) if (pattern.test(text)) return condition;
  for (const [message, type] of BY_MESSAGE) if (text.includes(message)) return type;
  return undefined;
}

/**
 * The expected condition an error stands for, else undefined: by the broker's error type or KafkaJS's error
 * name anywhere in its chain (originalError, cause, an aggregate's errors), or by the message KafkaJS gives it.
 */
export function expectedCondition(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 5) return undefined;
  const err = e as { type?: unknown; name?: unknown; message?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof err.type === 'string' && err.type in EXPECTED_BROKER_ERRORS) return err.type;
  if (typeof err.name === 'string' && err.name in EXPECTED_CLIENT_ERRORS) return EXPECTED_CLIENT_ERRORS[err.name];
  const inner =
    expectedCondition(err.originalError, depth + 1) ??
    expectedCondition(err.cause, depth + 1) ??
    (Array.isArray(err.errors) ? err.errors.map((x) => expectedCondition(x, depth + 1)).find(Boolean) : undefined);
  return inner ?? (typeof err.message === 'string' ? conditionOfText(err.message) : undefined);
}

/** How long an expected condition may go on before it is warned about: KafkaJS's own retries of a request take about as long. */
export const EXPECTED_CONDITION_BOUND_MS = 30_000;

const counts = new Map<string, number>();

/** Counts one occurrence of `condition` in this process; returns the count so far. */
export function countExpectedCondition(condition: string): number {
  const n = (counts.get(condition) ?? 0) + 1;
  counts.set(condition, n);
  return n;
}

/** The expected conditions retried in this process so far, by condition (for /metrics and a stop line). */
export function expectedConditionCounts(): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** "NOT_LEADER_FOR_PARTITION 3, REBALANCE_IN_PROGRESS 1", or '' when none. */
export function describeExpectedConditions(c: Record<string, number> = expectedConditionCounts()): string {
  return Object.entries(c)
    .map(([condition, n]) => `${condition} ${n}`)
    .join(', ');
}

/** One occurrence as a ConditionStreaks sees it. */
export interface StreakNote {
  /** Occurrences in this streak, this one included. */
  count: number;
  /** ms since the streak's first occurrence. */
  lastedMs: number;
  /** True exactly once per streak: the first occurrence at or past the bound (warn about it then). */
  surface: boolean;
}

/**
 * Streaks of a condition, by key: occurrences less than `boundMs` apart belong to one streak. A streak that
 * has lasted `boundMs` surfaces once; a gap of `boundMs` without one ends it. `now` is injectable for tests.
 */
export class ConditionStreaks {
  private readonly streaks = new Map<string, { since: number; last: number; count: number; surfaced: boolean }>();

  constructor(
    private readonly boundMs = EXPECTED_CONDITION_BOUND_MS,
    private readonly now: () => number = Date.now,
  ) {}

  note(key: string): StreakNote {
    const t = this.now();
    let s = this.streaks.get(key);
    if (!s || t - s.last >= this.boundMs) {
      s = { since: t, last: t, count: 0, surfaced: false };
      this.streaks.set(key, s);
    }
    s.count++;
    s.last = t;
    const lastedMs = t - s.since;
    const surface = !s.surfaced && lastedMs >= this.boundMs;
    if (surface) s.surfaced = true;
    return { count: s.count, lastedMs, surface };
  }
}

/**
 * For a retry loop of its own (a commit, a transaction, a meta report): reports one failure. An expected
 * condition is counted and logged at debug, and warned about once its streak under `key` has lasted the bound;
 * any other failure is warned about. Returns the condition (undefined: not an expected one).
 */
export function reportRetriedFailure(
  logger: { warn(message: string, meta?: object): unknown; debug?(message: string, meta?: object): unknown },
  streaks: ConditionStreaks,
  key: string,
  line: string,
  e: unknown,
  meta?: object,
): string | undefined {
  const condition = expectedCondition(e);
  if (!condition) {
    logger.warn(line, meta);
    return undefined;
  }
  const total = countExpectedCondition(condition);
  const streak = streaks.note(`${key} ${condition}`);
  if (streak.surface)
    logger.warn(`${line} (${condition} has gone on for ${(streak.lastedMs / 1000).toFixed(1)} s, longer than expected)`, meta);
  else logger.debug?.(`${line} (${condition}: expected, retried; ${total} in this process)`, meta);
  return condition;
}
