import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from './kafkajs';
import { KAFKA_OPTIONS, loadConfig } from '@movie-stream/config';
import {
  authenticationFailure,
  fatalKafkaErrors,
  kafkaClientConfig,
  kafkaConnection,
  kafkaEnv,
  KafkaAuthenticationError,
  KafkaConnectionRefusedError,
  KafkaUsageError,
} from './index';

const quiet = { warn: () => undefined };
// KafkaJS throws these but its typings do not export them (or their constructors' arguments).
const kafkaError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('kafkaClientConfig', () => {
  it('maps a loaded config (flags and environment) to KafkaJS options with TLS and SASL', () => {
    const config = loadConfig(KAFKA_OPTIONS, ['--kafka-ssl', 'true', '--brokers', 'a:1,b:2'], {
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    const options = kafkaClientConfig(kafkaConnection(config, 'svc-1'), quiet);
    expect(options).toMatchObject({
      clientId: 'svc-1',
      brokers: ['a:1', 'b:2'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
    expect(options.retry).toEqual({ initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 });
  });

  it('leaves TLS and SASL off when unset', () => {
    const options = kafkaClientConfig(kafkaConnection(loadConfig(KAFKA_OPTIONS, [], {}), 'x'), quiet);
    expect(options.ssl).toBeUndefined();
    expect(options.sasl).toBeUndefined();
  });

  it('rejects an unknown mechanism and a mechanism without credentials', () => {
    expect(() => kafkaClientConfig(kafkaConnection({ brokers: ['a:1'], kafkaSaslMechanism: 'gssapi' }, 'x'), quiet)).toThrow(
      /"gssapi" is not one of/,
    );
    expect(() =>
      kafkaClientConfig(kafkaConnection({ brokers: ['a:1'], kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'u' }, 'x'), quiet),
    ).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD \(or KAFKA_SASL_PASSWORD_FILE\) are needed/);
  });
});

describe('kafkaEnv', () => {
  it('passes a password file as the file, and blanks the other variable so an inherited one cannot clash', () => {
    expect(
      kafkaEnv({
        brokers: ['a:1'],
        kafkaSaslMechanism: 'plain',
        kafkaSaslUsername: 'u',
        kafkaSaslPassword: 'p',
        kafkaSaslPasswordFile: '/f',
      }),
    ).toEqual({
      KAFKA_BROKERS: 'a:1',
      KAFKA_SSL: 'false',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: '',
      KAFKA_SASL_PASSWORD_FILE: '/f',
    });
    expect(kafkaEnv({ brokers: ['a:1'], kafkaSsl: true, kafkaSaslPassword: 'p' })).toMatchObject({
      KAFKA_SSL: 'true',
      KAFKA_SASL_PASSWORD: 'p',
      KAFKA_SASL_PASSWORD_FILE: '',
    });
  });

  it('round-trips through loadConfig', () => {
    const settings = {
      brokers: ['a:1', 'b:2'],
      kafkaSsl: true,
      kafkaSaslMechanism: 'plain',
      kafkaSaslUsername: 'u',
      kafkaSaslPassword: 'p w',
    };
    expect(loadConfig(KAFKA_OPTIONS, [], kafkaEnv(settings))).toMatchObject(settings);
  });
});

describe('fatalKafkaErrors', () => {
  it('ends a retry loop at a request the client itself refuses, and only then', () => {
    const refused = new KafkaUsageError('@platformatic/kafka: Idempotent producer requires acks to be ALL (-1).');
    expect(fatalKafkaErrors()(refused)).toBe(refused);
    expect(fatalKafkaErrors()(new Error('@platformatic/kafka: Connection refused'))).toBeUndefined();
  });

  it('ends a retry loop at a broker refusal no retry changes (a record too large), wrapped or not; not at a transient one', () => {
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
      name: 'KafkaJSProtocolError',
      type: 'MESSAGE_TOO_LARGE',
      retriable: false,
    });
    const fatal = fatalKafkaErrors()(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 0, retryTime: 300 }));
    expect(fatal?.message).toMatch(/^Kafka refused the request for good \(MESSAGE_TOO_LARGE\)/);
    expect(fatal?.cause).toBe(tooLarge);
    const leader = Object.assign(new Error('This server is not the leader'), { type: 'NOT_LEADER_FOR_PARTITION', retriable: true });
    expect(fatalKafkaErrors()(leader)).toBeUndefined();
    const sequence = Object.assign(new Error('out of order'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false });
    expect(fatalKafkaErrors()(sequence)).toBeUndefined();
  });

  it('ends a retry loop at the first authentication failure, wrapped or not', () => {
    const auth = kafkaError('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed: Invalid username or password');
    expect(fatalKafkaErrors()(auth)).toBeInstanceOf(KafkaAuthenticationError);
    expect(authenticationFailure(new KafkaJSNumberOfRetriesExceeded(auth, { retryCount: 8, retryTime: 10_000 }))?.message).toMatch(
      /^Kafka rejected the SASL authentication: SASL PLAIN/,
    );
    expect(
      authenticationFailure(kafkaError('KafkaJSProtocolError', 'The broker does not support the requested SASL mechanism')),
    ).toBeInstanceOf(KafkaAuthenticationError);
    expect(authenticationFailure(kafkaError('KafkaJSProtocolError', 'This is not the correct coordinator for this group'))).toBeUndefined();
  });

  it('ends it after 5 closed connections in a row; a refused connection (broker down) starts the count again', () => {
    const fatal = fatalKafkaErrors();
    const closed = () => kafkaError('KafkaJSConnectionClosedError', 'Closed connection');
    for (let i = 0; i < 4; i++) expect(fatal(closed())).toBeUndefined();
    expect(fatal(new KafkaJSConnectionError('connect ECONNREFUSED'))).toBeUndefined();
    for (let i = 0; i < 4; i++) expect(fatal(closed())).toBeUndefined();
    expect(fatal(new KafkaJSNumberOfRetriesExceeded(closed(), { retryCount: 8, retryTime: 10_000 }))).toBeInstanceOf(
      KafkaConnectionRefusedError,
    );
  });
});
