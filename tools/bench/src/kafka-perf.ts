// Kafka's own ProducerPerformance / ConsumerPerformance (tools/kafka/kafka.sh) on a fresh topic: the
// ceiling a client on this machine and broker can reach, to put the pipeline's rates in proportion.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type KafkaClient, withTemporaryTopic } from '@movie-stream/messaging';

export interface KafkaPerf {
  producerPerSec: number;
  /** ConsumerPerformance fetch.nMsg.sec: messages / fetch time, excluding the group join (as the pipeline's rates do). */
  consumerPerSec: number;
  /** ConsumerPerformance nMsg.sec: including the group join. */
  consumerPerSecWithJoin: number;
  producerLine: string;
  consumerLine: string;
}

/** tools/kafka/kafka.sh with these arguments: its stdout and stderr together. */
export function runKafkaSh(repoRoot: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn('bash', [join(repoRoot, 'tools', 'kafka', 'kafka.sh'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`kafka.sh ${args[0]} exited ${code}: ${out.slice(-2000)}`))));
  });
}

/** "N records sent, R records/sec (…)" → R. */
export function parseProducerPerf(out: string): { perSec: number; line: string } {
  const line = out
    .split('\n')
    .reverse()
    .find((l) => / records sent, [\d.]+ records\/sec/.test(l));
  if (!line) throw new Error(`no ProducerPerformance summary in: ${out.slice(-1000)}`);
  return { perSec: Number(/records sent, ([\d.]+) records\/sec/.exec(line)![1]), line: line.trim() };
}

/** The CSV line under ConsumerPerformance's header, by column name. */
export function parseConsumerPerf(out: string): { perSec: number; perSecWithJoin: number; line: string } {
  const lines = out.split('\n').map((l) => l.trim());
  const h = lines.findIndex((l) => l.startsWith('start.time,'));
  if (h < 0 || !lines[h + 1]) throw new Error(`no ConsumerPerformance result in: ${out.slice(-1000)}`);
  const header = lines[h].split(',').map((s) => s.trim());
  const values = lines[h + 1].split(',').map((s) => s.trim());
  const col = (name: string) => Number(values[header.indexOf(name)]);
  return { perSec: col('fetch.nMsg.sec'), perSecWithJoin: col('nMsg.sec'), line: lines[h + 1] };
}

export async function runKafkaPerf(o: {
  repoRoot: string;
  kafka: KafkaClient;
  brokers: string[];
  topic: string;
  partitions: number;
  records: number;
  recordSize?: number;
}): Promise<KafkaPerf> {
  return withTemporaryTopic(o.kafka, { name: o.topic, partitions: o.partitions, replicationFactor: 1 }, async () => {
    const bootstrap = o.brokers.join(',');
    const p = parseProducerPerf(
      await runKafkaSh(o.repoRoot, [
        'perf-producer',
        '--topic',
        o.topic,
        '--num-records',
        String(o.records),
        '--record-size',
        String(o.recordSize ?? 24),
        '--throughput',
        '-1',
        '--producer-props',
        `bootstrap.servers=${bootstrap}`,
        'acks=all',
      ]),
    );
    const c = parseConsumerPerf(
      await runKafkaSh(o.repoRoot, ['perf-consumer', '--bootstrap-server', bootstrap, '--topic', o.topic, '--messages', String(o.records)]),
    );
    return {
      producerPerSec: p.perSec,
      consumerPerSec: c.perSec,
      consumerPerSecWithJoin: c.perSecWithJoin,
      producerLine: p.line,
      consumerLine: c.line,
    };
  });
}
