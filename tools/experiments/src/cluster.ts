// An experiment's own Kafka cluster (KAFKA_INSTANCE): brokers are stopped here, never the shared one.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@movie-stream/pipeline-run';

export class ExperimentCluster {
  constructor(readonly instance = 'experiments', readonly portBase = 29090) {}

  get brokers(): string[] {
    return [1, 2, 3].map((i) => `127.0.0.1:${this.portBase + i}`);
  }

  kafka(...args: string[]): void {
    const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), ...args], {
      env: { ...process.env, KAFKA_INSTANCE: this.instance, KAFKA_PORT_BASE: String(this.portBase), KAFKA_BROKERS: '' },
      stdio: ['ignore', 2, 2],
    });
    if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed (instance ${this.instance})`);
  }

  /** A fresh 3-broker cluster (old data removed: every experiment starts from the same state). */
  start(): void {
    this.kafka('reset');
    this.kafka('start', '--brokers', '3');
  }
  stopBroker(i: number): void {
    this.kafka('stop', '--broker', String(i));
  }
  startBroker(i: number): void {
    this.kafka('start', '--brokers', '3', '--broker', String(i));
  }
  stopAll(): void {
    this.kafka('stop');
  }
}
