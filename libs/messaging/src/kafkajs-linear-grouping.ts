// A drop-in replacement for KafkaJS 2.2.4's src/producer/groupMessagesPerPartition.js (same arguments, same
// result, same order within a partition). The original copies the partition's array for every message
// (`[...current, message]`): quadratic in the messages per send, a large share of a producer's CPU.
// KafkaJS is unmaintained, so the fix lives here; kafkajs.ts puts it in place for node, tsx and jest, and
// the bundler (tools/build) routes KafkaJS's import of the module to this file.
interface GroupingArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupingArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

// The shape of the module it replaces (module.exports = the function).
export = groupMessagesPerPartition;
