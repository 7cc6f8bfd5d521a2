// The one place that turns settings into a KafkaJS client: every service and tool builds its client here,
// so TLS, SASL, retries and logging are the same everywhere (a tool that built its own client used to
// ignore KAFKA_SSL and KAFKA_SASL_*).
import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from './kafkajs';
import { ConditionStreaks, conditionOfText, countExpectedCondition, EXPECTED_CONDITION_BOUND_MS } from './expected-conditions';

/** TLS and SASL settings, as loadConfig names them (KAFKA_SSL, KAFKA_SASL_*). */
export interface KafkaSecurity {
  kafkaSsl?: boolean;
  kafkaSaslMechanism?: string;
  kafkaSaslUsername?: string;
  kafkaSaslPassword?: string;
}

/** The connection part of a loaded config: a `loadConfig([...KAFKA_OPTIONS])` result fits. */
export interface KafkaSettings extends KafkaSecurity {
  brokers: string[];
}

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
}

/** Where KafkaJS's own log lines go; a winston logger fits, so does anything with warn(). */
export interface KafkaLogger {
  warn(message: string, meta?: object): unknown;
  error?(message: string, meta?: object): unknown;
  info?(message: string, meta?: object): unknown;
  debug?(message: string, meta?: object): unknown;
}

export function kafkaConnection(settings: KafkaSettings, clientId: string): KafkaConnection {
  return {
    brokers: settings.brokers,
    clientId,
    ssl: settings.kafkaSsl,
    saslMechanism: settings.kafkaSaslMechanism,
    saslUsername: settings.kafkaSaslUsername,
    saslPassword: settings.kafkaSaslPassword,
  };
}

/**
 * The settings as environment variables, for child processes (the services `npm start` runs). A password
 * read from a file is passed as that file; the other variable is set empty (= unset) so that an inherited
 * one cannot make the child see both.
 */
export function kafkaEnv(settings: KafkaSettings & { kafkaSaslPasswordFile?: string }): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: settings.brokers.join(','),
    KAFKA_SSL: settings.kafkaSsl ? 'true' : 'false',
    KAFKA_SASL_MECHANISM: settings.kafkaSaslMechanism ?? '',
    KAFKA_SASL_USERNAME: settings.kafkaSaslUsername ?? '',
    KAFKA_SASL_PASSWORD: '',
    KAFKA_SASL_PASSWORD_FILE: '',
  };
  if (settings.kafkaSaslPasswordFile) env.KAFKA_SASL_PASSWORD_FILE = settings.kafkaSaslPasswordFile;
  else if (settings.kafkaSaslPassword !== undefined) env.KAFKA_SASL_PASSWORD = settings.kafkaSaslPassword;
  return env;
}

function sasl(c: KafkaConnection): SASLOptions | undefined {
  if (!c.saslMechanism) return undefined;
  const mechanism = c.saslMechanism.toLowerCase();
  if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
    throw new Error(`KAFKA_SASL_MECHANISM "${c.saslMechanism}" is not one of plain, scram-sha-256, scram-sha-512`);
  }
  if (!c.saslUsername || c.saslPassword === undefined) {
    throw new Error(
      'KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) are needed too',
    );
  }
  return { mechanism, username: c.saslUsername, password: c.saslPassword } as SASLOptions;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * KafkaJS warnings about a setting the project chose on purpose: debug. The transactional PartitionWriter limits
 * KafkaJS's retries of a send and retries the whole transaction itself (abort, send again; its fence keeps a
 * newer owner's writes the only visible ones), which KafkaJS warns "may invalidate EoS guarantees" about.
 */
const CHOSEN_ON_PURPOSE = /^Limiting retries for the idempotent producer/;

/** KafkaJS's lines after it gave up retrying (a consumer's crash and restart): never quietened. */
const GAVE_UP = /^Crash: |^Restarting the consumer/;

export interface KafkaLogOptions {
  /** How long an expected condition is logged at debug before it is warned about (once); for tests. */
  expectedBoundMs?: number;
  /** The clock of that bound; for tests. */
  now?: () => number;
}

/**
 * KafkaJS's log lines (warn and error only) to the caller's logger, as `kafkajs <namespace>: <message>`.
 * An expected condition it retries itself (a fresh topic's leader election, a coordinator loading, a
 * rebalance: see expected-conditions.ts) goes to debug and is counted; once one has gone on for
 * `expectedBoundMs` (30 s) in a row it is warned about, once per streak.
 */
export function kafkaLogBridge(logger: KafkaLogger, options: KafkaLogOptions = {}): (entry: LogEntry) => void {
  const streaks = new ConditionStreaks(options.expectedBoundMs ?? EXPECTED_CONDITION_BOUND_MS, options.now);
  return ({ namespace, level, log }: LogEntry) => {
    const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & { timestamp?: string; logger?: string };
    const text = String(message);
    const line = `kafkajs ${namespace}: ${message}`;
    if (CHOSEN_ON_PURPOSE.test(text)) return void logger.debug?.(line, extra);
    // A failed response names the broker's error in `error`.
    const condition = GAVE_UP.test(text) ? undefined : conditionOfText(`${text} ${String((extra as { error?: unknown }).error ?? '')}`);
    if (condition) {
      const total = countExpectedCondition(condition);
      const streak = streaks.note(condition);
      if (streak.surface)
        logger.warn(
          `${line} (${condition} has gone on for ${(streak.lastedMs / 1000).toFixed(1)} s, ${streak.count} times, longer than expected; still retried)`,
          extra,
        );
      else logger.debug?.(`${line} (${condition}: expected, retried; ${total} in this process)`, extra);
      return;
    }
    // KafkaJS logs every failed connection attempt at ERROR; our own retry loop reports those once per try.
    // Other error responses it retries itself are warnings, not errors.
    const lvl =
      LEVELS[level] !== 'error'
        ? LEVELS[level]
        : /Connection error|ECONNREFUSED|Failed to connect/.test(text)
          ? 'debug'
          : /^Response |Failed to send messages/.test(text)
            ? 'warn'
            : 'error';
    const emit = logger[lvl ?? 'info'] ?? (lvl === 'error' ? logger.warn : undefined);
    emit?.call(logger, line, extra);
  };
}

/** The KafkaJS options of a connection (exported so a test can check what every caller gets). */
export function kafkaClientConfig(c: KafkaConnection, logger: KafkaLogger, logOptions: KafkaLogOptions = {}): KafkaConfig {
  return {
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: c.ssl || undefined,
    sasl: sasl(c),
    connectionTimeout: 3000,
    // KafkaJS retries each request with exponential backoff; callers loop around that (see waitForKafka).
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => kafkaLogBridge(logger, logOptions),
  };
}

/** A KafkaJS client whose log lines go through the caller's logger. */
export function createKafka(c: KafkaConnection, logger: KafkaLogger): Kafka {
  return new Kafka(kafkaClientConfig(c, logger));
}

/** The client for a loaded config: brokers, TLS and SASL from KAFKA_BROKERS, KAFKA_SSL and KAFKA_SASL_*. */
export function kafkaClient(settings: KafkaSettings, clientId: string, logger: KafkaLogger): Kafka {
  return createKafka(kafkaConnection(settings, clientId), logger);
}

/** The broker refused the client's credentials or mechanism: retrying cannot help. */
export class KafkaAuthenticationError extends Error {
  constructor(readonly original: Error) {
    super(
      `Kafka rejected the SASL authentication: ${original.message}. ` +
        'Check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE); retrying will not help',
    );
    this.name = 'KafkaAuthenticationError';
  }
}

/**
 * `e` as a KafkaAuthenticationError when it is a SASL failure (wrong user or password, a mechanism the
 * broker does not offer, SASL against a listener without it), else undefined.
 */
export function authenticationFailure(e: unknown): KafkaAuthenticationError | undefined {
  for (
    let err = e as { name?: string; message?: string; originalError?: unknown; cause?: unknown } | undefined, depth = 0;
    err && depth < 5;
    depth++
  ) {
    if (err instanceof KafkaAuthenticationError) return err;
    if (err.name === 'KafkaJSSASLAuthenticationError' || (err.name === 'KafkaJSProtocolError' && /SASL/.test(err.message ?? ''))) {
      return new KafkaAuthenticationError(err as Error);
    }
    err = (err.originalError ?? err.cause) as typeof err;
  }
  return undefined;
}

/** The client itself refused a request as malformed (a bug or a setting it does not support): retrying cannot help. */
export class KafkaUsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUsageError';
  }
}

/**
 * Broker answers that no retry can change: the records or the request are refused as they are (too large,
 * not allowed). Other errors KafkaJS marks not retriable (a producer's sequence or epoch out of step after a
 * broker restart) are left to the retries, which KafkaJS's idempotent producer recovers from.
 */
const REFUSED_FOR_GOOD = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'POLICY_VIOLATION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/** The broker refused a request for good (see REFUSED_FOR_GOOD): a KafkaUsageError naming it, its cause the broker's error. */
export function refusedForGood(e: unknown): KafkaUsageError | undefined {
  for (
    let err = e as { type?: unknown; originalError?: unknown; cause?: unknown; message?: string } | undefined, depth = 0;
    err && depth < 5;
    depth++
  ) {
    if (typeof err.type === 'string' && REFUSED_FOR_GOOD.has(err.type))
      return Object.assign(new KafkaUsageError(`Kafka refused the request for good (${err.type}): ${err.message}`, { cause: err }), {
        retriable: false,
      });
    err = (err.originalError ?? err.cause) as typeof err;
  }
  return undefined;
}

/** A broker closed every connection of the client at once: a SASL or TLS listener does that to a client without. */
export class KafkaConnectionRefusedError extends Error {
  constructor(tries: number, original: Error) {
    super(
      `Kafka closed the connection ${tries} times in a row (${original.message}): a listener that requires SASL or TLS ` +
        'closes the connections of a client without them. Check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL',
    );
    this.name = 'KafkaConnectionRefusedError';
  }
}

/** Consecutive "Closed connection" failures that make retrying pointless (a restarting broker refuses instead). */
export const CLOSED_CONNECTION_LIMIT = 5;

function chainHas(e: unknown, name: string): Error | undefined {
  for (let err = e as { name?: string; originalError?: unknown; cause?: unknown } | undefined, depth = 0; err && depth < 5; depth++) {
    if (err.name === name) return err as Error;
    err = (err.originalError ?? err.cause) as typeof err;
  }
  return undefined;
}

/**
 * For a retry loop: returns a function that says which failure ends the loop, as a clear error (undefined:
 * retry). An authentication failure ends it at once; a connection the broker closes, only after
 * CLOSED_CONNECTION_LIMIT of them in a row (a broker that is down refuses connections, which resets the count).
 */
export function fatalKafkaErrors(limit = CLOSED_CONNECTION_LIMIT): (e: unknown) => Error | undefined {
  let closed = 0;
  return (e) => {
    const auth = authenticationFailure(e);
    if (auth) return auth;
    if (e instanceof KafkaUsageError) return e;
    const refused = refusedForGood(e);
    if (refused) return refused;
    const c = chainHas(e, 'KafkaJSConnectionClosedError');
    closed = c ? closed + 1 : 0;
    return c && closed >= limit ? new KafkaConnectionRefusedError(closed, c) : undefined;
  };
}
