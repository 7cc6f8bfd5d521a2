// What this lib's integration tests share: the broker they run against (started by the jest global setup), a
// client and a quiet logger for it, names no other run uses, and waiting on a condition. (test-support has a
// wait too, but it depends on this lib.)
import { createLogger } from '@movie-stream/logging';
import { Kafka, logLevel } from './kafkajs';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
export const testKafka = (clientId: string) => new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

/** Polls `cond` every 50 ms until it holds (true) or `ms` have passed (false): tests wait on conditions, never on time. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Reads until `done(value)` holds or `ms` have passed, and returns the last value read (the test's assertion on
 * it then says what was wrong). E.g. a read_committed read right after a commit: commit() returns once the
 * coordinator decided, and the commit marker reaches the partition a moment later.
 */
export async function readUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  let value!: T;
  await until(async () => done((value = await read())), ms);
  return value;
}
