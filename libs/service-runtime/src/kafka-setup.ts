import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, ensureTopics, KafkaAdmin, pipelineTopics, TopicNames } from '@movie-stream/messaging';

/** Connects an admin client (waiting for the brokers) and creates the pipeline's topics if missing. */
export async function connectAndEnsureTopics(
  admin: KafkaAdmin,
  opts: {
    brokers: string[];
    topics: TopicNames;
    ratingsPartitions: number;
    replicationFactor: number;
    logger: Logger;
    signal?: AbortSignal;
  },
): Promise<void> {
  await connectWithRetry(admin, opts.brokers, opts.logger, opts.signal);
  await ensureTopics(admin, pipelineTopics(opts.topics, opts.ratingsPartitions), opts.replicationFactor, opts.logger);
}
