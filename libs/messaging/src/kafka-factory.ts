// The one place that turns settings into a KafkaJS client: every service and tool builds its client here,
// so TLS, SASL, retries and logging are the same everywhere (a tool that built its own client used to
// ignore KAFKA_SSL and KAFKA_SASL_*).
import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from './kafkajs';

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

/** The KafkaJS options of a connection (exported so a test can check what every caller gets). */
export function kafkaClientConfig(c: KafkaConnection, logger: KafkaLogger): KafkaConfig {
  return {
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: c.ssl || undefined,
    sasl: sasl(c),
    connectionTimeout: 3000,
    // KafkaJS retries each request with exponential backoff; callers loop around that (see waitForKafka).
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & { timestamp?: string; logger?: string };
        // KafkaJS logs every failed connection attempt at ERROR; our own retry loop reports those once per try.
        // and error responses it retries itself (not leader, not enough replicas) are warnings, not errors.
        const text = String(message);
        const lvl =
          LEVELS[level] !== 'error'
            ? LEVELS[level]
            : /Connection error|ECONNREFUSED|Failed to connect/.test(text)
              ? 'debug'
              : /^Response |Failed to send messages/.test(text)
                ? 'warn'
                : 'error';
        const emit = logger[lvl ?? 'info'] ?? (lvl === 'error' ? logger.warn : undefined);
        emit?.call(logger, `kafkajs ${namespace}: ${message}`, extra);
      },
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
    const c = chainHas(e, 'KafkaJSConnectionClosedError');
    closed = c ? closed + 1 : 0;
    return c && closed >= limit ? new KafkaConnectionRefusedError(closed, c) : undefined;
  };
}
