// What KafkaCluster hands kafka.sh, checked through kafka.sh's own answers (no broker is started here).
import { KafkaCluster } from './kafka-cluster';

describe('KafkaCluster', () => {
  it('names broker i at portBase + i', () => {
    expect(new KafkaCluster({ instance: 'x', portBase: 36900, size: 3 }).brokers).toEqual([
      '127.0.0.1:36901',
      '127.0.0.1:36902',
      '127.0.0.1:36903',
    ]);
    expect(new KafkaCluster({ instance: 'x', portBase: 36900 }).brokers).toEqual(['127.0.0.1:36901']);
    expect(new KafkaCluster({ instance: 'x', portBase: 36900, host: '10.231.7.1' }).brokers).toEqual(['10.231.7.1:36901']);
  });

  it('runs kafka.sh for its own instance: a never-started one has no cluster, and the failure carries the output', () => {
    const c = new KafkaCluster({ instance: 'test-support-never-started', portBase: 36900 });
    expect(() => c.kafka('status')).toThrow(/kafka\.sh status failed \(instance test-support-never-started\): no local Kafka cluster/i);
  });

  it('passes the instance name and the SASL user to kafka.sh (which checks both)', () => {
    expect(() => new KafkaCluster({ instance: 'Not_Valid', portBase: 36900 }).kafka('status')).toThrow(/KAFKA_INSTANCE must be lower-case/);
    expect(() => new KafkaCluster({ instance: 'test-support-sasl', portBase: 36900, saslPlain: 'no-colon' }).kafka('status')).toThrow(
      /KAFKA_SASL_PLAIN must be user:password/,
    );
    expect(() => new KafkaCluster({ instance: 'test-support-host', portBase: 36900, host: '0.0.0.0; rm' }).kafka('status')).toThrow(
      /KAFKA_HOST must be an IPv4 address, got '0\.0\.0\.0; rm'/,
    );
  });
});
