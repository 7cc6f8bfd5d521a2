import { connectWithRetry, ensureTopics, KafkaAdmin, pipelineTopics } from '@movie-stream/messaging';
import type { CommonOption, ServiceContext } from './run-service';

/**
 * Connects an admin client (waiting for the brokers) and creates the pipeline's topics if missing, all from
 * the service's own settings (brokers, topic names, partitions, replication).
 */
export async function connectAndEnsureTopics(
  admin: KafkaAdmin,
  ctx: Pick<ServiceContext<CommonOption>, 'config' | 'topics' | 'logger' | 'signal'>,
): Promise<void> {
  const { config, logger } = ctx;
  await connectWithRetry(admin, config.brokers as string[], logger, ctx.signal);
  await ensureTopics(
    admin,
    pipelineTopics(ctx.topics, config.ratingsPartitions as number, config.ratingsRetentionMs as number),
    config.replicationFactor as number,
    logger,
  );
}
