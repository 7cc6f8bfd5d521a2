export { createKafka, connectWithRetry, retryForever, pendingRetries, RetryOptions, backoffMs, sleep, KafkaConnection } from './kafka-client';
export { topicNames, pipelineTopics, ensureTopics, waitForLeaders, TopicNames, TopicSpec } from './topics';
export { MetaReporter, MetaSink, MetaAction } from './meta-reporter';
export { Publisher, PublisherOptions, rawSink } from './publisher';
export { CheckpointedConsumer, Checkpoint, PartitionBatch, CheckpointedConsumerOptions } from './checkpointed-consumer';
export { consumerLag, totalLag, PartitionLag } from './lag';
export { deadLetterTopic, deadLetter, DLQ_HEADERS } from './dead-letter';
