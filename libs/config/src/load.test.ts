import { loadConfig, ConfigError, redact, markdownTable } from './index';

describe('loadConfig', () => {
  it('takes the flag over the environment over the default', () => {
    expect(loadConfig(['brokers'], [], {}).brokers).toEqual(['127.0.0.1:9092']);
    expect(loadConfig(['brokers'], [], { KAFKA_BROKERS: 'a:1, b:2' }).brokers).toEqual(['a:1', 'b:2']);
    expect(loadConfig(['brokers'], ['--brokers', 'c:3'], { KAFKA_BROKERS: 'a:1' }).brokers).toEqual(['c:3']);
  });

  it('parses integers and booleans and names the source of a bad value', () => {
    expect(loadConfig(['snapshotIntervalMs'], ['--snapshot-interval-ms=250'], {}).snapshotIntervalMs).toBe(250);
    expect(loadConfig(['kafkaSsl'], [], { KAFKA_SSL: 'yes' }).kafkaSsl).toBe(true);
    expect(() => loadConfig(['snapshotIntervalMs'], [], { SNAPSHOT_INTERVAL_MS: '5s' })).toThrow(
      /SNAPSHOT_INTERVAL_MS: "5s" is not an integer/,
    );
    expect(() => loadConfig(['kafkaSsl'], ['--kafka-ssl', 'maybe'], {})).toThrow(/--kafka-ssl: "maybe" is not a boolean/);
  });

  it('rejects unknown flags instead of silently using defaults', () => {
    expect(() => loadConfig(['brokers'], ['--broker', 'x'], {})).toThrow(ConfigError);
  });

  it('leaves options without default undefined', () => {
    expect(loadConfig(['stateDir'], [], {}).stateDir).toBeUndefined();
  });

  it('prints usage for --help', () => {
    expect(() => loadConfig(['brokers'], ['--help'], {})).toThrow(/--brokers \| KAFKA_BROKERS \| 127.0.0.1:9092/);
  });

  it('masks secrets', () => {
    const c = loadConfig(['kafkaSaslPassword', 'brokers'], [], { KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(c.kafkaSaslPassword).toBe('hunter2');
    expect(JSON.stringify(redact(c))).not.toContain('hunter2');
  });

  it('renders every option in the markdown table', () => {
    expect(markdownTable()).toContain('| `KAFKA_BROKERS` | `--brokers` | `127.0.0.1:9092` |');
  });
});
