import { HEARTBEAT_INTERVAL_MS, kafkaConsumer, type CheckpointedConsumerOptions } from './consumer-options';

/** The KafkaJS consumer settings kafkaConsumer makes from these options (a Kafka that returns them). */
function settings(o: Partial<CheckpointedConsumerOptions>): { sessionTimeout: number; heartbeatInterval: number } {
  const kafka = { consumer: (c: unknown) => c };
  const runs = { running: () => [], claimedAt: () => new Map<number, number>() };
  return kafkaConsumer({ groupId: 'g', ...o, kafka } as never, runs) as never;
}

describe('kafkaConsumer', () => {
  it('heartbeats every HEARTBEAT_INTERVAL_MS by default, or as configured', () => {
    expect(settings({})).toMatchObject({ sessionTimeout: 10_000, heartbeatInterval: HEARTBEAT_INTERVAL_MS });
    expect(settings({ heartbeatIntervalMs: 500, sessionTimeoutMs: 6000 })).toMatchObject({ sessionTimeout: 6000, heartbeatInterval: 500 });
  });

  it('refuses a heartbeat interval of 0 or above a third of the session timeout, naming both settings', () => {
    expect(() => settings({ heartbeatIntervalMs: 0 })).toThrow(/HEARTBEAT_INTERVAL_MS \(0\) must be above 0/);
    expect(() => settings({ heartbeatIntervalMs: 4000, sessionTimeoutMs: 10_000 })).toThrow(
      /HEARTBEAT_INTERVAL_MS \(4000\) .*a third of SESSION_TIMEOUT_MS \(10000\)/,
    );
  });
});
