// The one wrapper around tools/kafka/kafka.sh for tests and tools that need a Kafka cluster of their own
// (KAFKA_INSTANCE + KAFKA_PORT_BASE): killing its brokers disturbs nobody else.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..', '..');

export interface KafkaClusterOptions {
  /** KAFKA_INSTANCE: the cluster's own data and log directory. */
  instance: string;
  /** KAFKA_PORT_BASE: broker i listens on portBase + i. */
  portBase: number;
  /** Brokers (kafka.sh runs 1 or 3); default 1. */
  size?: 1 | 3;
  /** KAFKA_HOST: the IPv4 address the brokers bind and advertise (default 127.0.0.1), e.g. a veth address. */
  host?: string;
  /** KAFKA_SASL_PLAIN, "user:password": the brokers then require SASL/PLAIN. */
  saslPlain?: string;
  /** 'capture' (default): kafka.sh's output is only shown when it fails; 'stderr': passed through as it runs. */
  output?: 'capture' | 'stderr';
}

export class KafkaCluster {
  readonly instance: string;
  readonly portBase: number;
  readonly size: 1 | 3;
  readonly host: string;

  constructor(private readonly opts: KafkaClusterOptions) {
    this.instance = opts.instance;
    this.portBase = opts.portBase;
    this.size = opts.size ?? 1;
    this.host = opts.host ?? '127.0.0.1';
  }

  get brokers(): string[] {
    return Array.from({ length: this.size }, (_, i) => `${this.host}:${this.portBase + i + 1}`);
  }

  /** Runs `kafka.sh <args>` for this cluster; throws with its output when it fails. */
  kafka(...args: string[]): string {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: '',
      KAFKA_INSTANCE: this.instance,
      KAFKA_PORT_BASE: String(this.portBase),
      KAFKA_HOST: this.host,
    };
    if (this.opts.saslPlain !== undefined) env.KAFKA_SASL_PLAIN = this.opts.saslPlain;
    const stderr = this.opts.output === 'stderr';
    const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), ...args], {
      env,
      encoding: 'utf8',
      stdio: stderr ? ['ignore', 2, 2] : 'pipe',
    });
    if (r.status !== 0)
      throw new Error(`kafka.sh ${args.join(' ')} failed (instance ${this.instance})${stderr ? '' : `: ${r.stdout}${r.stderr}`}`);
    return r.stdout ?? '';
  }

  start(): void {
    this.kafka('start', '--brokers', String(this.size));
  }
  startBroker(i: number): void {
    this.kafka('start', '--brokers', String(this.size), '--broker', String(i));
  }
  killBroker(i: number): void {
    this.kafka('stop', '--broker', String(i), '--kill');
  }
  stopBroker(i: number): void {
    this.kafka('stop', '--broker', String(i));
  }
  stop(): void {
    this.kafka('stop');
  }
  /** Stops and deletes the cluster's data: the next start is a fresh cluster. */
  reset(): void {
    this.kafka('reset');
  }
}
