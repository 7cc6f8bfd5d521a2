// Bytes a topic takes on the brokers, from Kafka's LogDirsCommand (KafkaJS has no DescribeLogDirs): what
// producer compression saves on disk and on the wire to consumers.
import { runKafkaSh } from './kafka-perf';

interface LogDirsJson {
  brokers: { broker: number; logDirs: { error: string | null; partitions: { partition: string; size: number; isFuture: boolean }[] }[] }[];
}

/**
 * LogDirsCommand's JSON line → bytes per topic of `topics`: per partition the largest replica (one copy of
 * the data, whatever the replication factor), summed over the partitions. A topic without partitions is 0.
 */
export function parseLogDirs(out: string, topics: string[]): Map<string, number> {
  const line = out.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) throw new Error(`no LogDirsCommand result in: ${out.slice(-1000)}`);
  const json = JSON.parse(line) as LogDirsJson;
  const largest = new Map<string, number>(); // "<topic>-<partition>" → bytes
  for (const b of json.brokers)
    for (const d of b.logDirs)
      for (const p of d.partitions) if (!p.isFuture) largest.set(p.partition, Math.max(largest.get(p.partition) ?? 0, p.size));
  const bytes = new Map(topics.map((t) => [t, 0]));
  for (const [partition, size] of largest) {
    const topic = partition.slice(0, partition.lastIndexOf('-'));
    if (bytes.has(topic)) bytes.set(topic, bytes.get(topic)! + size);
  }
  return bytes;
}

/** Bytes of each of `topics` on the brokers now (LogDirsCommand via tools/kafka/kafka.sh). */
export async function topicBytes(repoRoot: string, brokers: string[], topics: string[]): Promise<Map<string, number>> {
  const out = await runKafkaSh(repoRoot, [
    'run',
    'org.apache.kafka.tools.LogDirsCommand',
    '--bootstrap-server',
    brokers.join(','),
    '--describe',
    '--topic-list',
    topics.join(','),
  ]);
  return parseLogDirs(out, topics);
}
