// Jest global setup: integration tests talk to a real broker. Start the project's local Kafka unless
// KAFKA_BROKERS points at one (idempotent; flock keeps parallel jest runs from starting two).
const { spawnSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  if (process.env.KAFKA_BROKERS) return;
  const root = join(__dirname, '..', '..');
  mkdirSync(join(root, '.kafka'), { recursive: true });
  // -o: the broker started under the lock must not inherit (and hold) it.
  const r = spawnSync('flock', ['-o', join(root, '.kafka', 'start.lock'), 'bash', join(root, 'tools', 'kafka', 'kafka.sh'), 'start'], {
    stdio: ['ignore', 2, 2],
  });
  if (r.status !== 0) throw new Error('could not start the local Kafka broker for the integration tests (tools/kafka/kafka.sh start)');
};
