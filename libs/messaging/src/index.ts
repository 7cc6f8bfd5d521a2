export { connectWithRetry, retryForever, pendingRetries, RetryOptions, RetryLogger, backoffMs, sleep } from './kafka-client';
export {
  expectedCondition,
  expectedConditionCounts,
  describeExpectedConditions,
  reportRetriedFailure,
  ConditionStreaks,
  EXPECTED_BROKER_ERRORS,
  EXPECTED_CONDITION_BOUND_MS,
} from './expected-conditions';
export {
  createKafka,
  kafkaClient,
  kafkaClientConfig,
  kafkaLogBridge,
  KafkaLogOptions,
  kafkaConnection,
  kafkaEnv,
  authenticationFailure,
  fatalKafkaErrors,
  KafkaAuthenticationError,
  KafkaConnectionRefusedError,
  KafkaUsageError,
  KafkaConnection,
  KafkaSettings,
  KafkaSecurity,
  KafkaLogger,
} from './kafka-factory';
export {
  topicNames,
  pipelineTopics,
  ensureTopics,
  waitForLeaders,
  truncateTopic,
  COMPACTED_SEGMENT_MS,
  TopicNames,
  TopicSpec,
} from './topics';
export { PartitionWriter, PartitionWriterOptions, FencedError, PartitionWriteError } from './partition-writer';
export { MetaReporter, MetaSink, MetaAction, RestoreStart, RestoreEnd } from './meta-reporter';
export { Publisher, PublisherOptions, rawSink } from './publisher';
export { Compression, COMPRESSIONS, codecId, lz4Codec, LZ4_FRAME_MAGIC } from './compression';
export { KAFKA_CLIENTS, KafkaClientKind, kafkaClientKind } from './producer-backend-types';
export {
  CheckpointedConsumer,
  Checkpoint,
  PartitionBatch,
  CheckpointedConsumerOptions,
  RecordFingerprint,
  StateMismatchError,
  TopicLayoutError,
  PartitionOwner,
  fingerprint,
} from './checkpointed-consumer';
export { setGroupInstanceId, groupInstanceIdOf } from './kafkajs-static-membership';
export { BatchCoalescer, CoalesceOptions, CoalescedBatch, CoalescerClock, AddResult } from './batch-coalescer';
export {
  coPartitionedAssigner,
  assignCoPartitioned,
  assignedIndices,
  encodeOwned,
  decodeOwned,
  coPartitioningError,
} from './co-partitioned-assigner';
export { consumerLag, totalLag, PartitionLag } from './lag';
export { describeGroup, GroupDirectory, GroupView, GroupMemberView } from './group-directory';
export { deadLetterTopic, deadLetter, DLQ_HEADERS } from './dead-letter';
export { newRunId, runMetaPrefix, runsOf, latestRun, RunRef } from './runs';
export {
  readPartitions,
  readPartitionTails,
  keyPartitioner,
  TopicRecord,
  PartitionContents,
  PartitionTail,
  ReadPartitionsOptions,
} from './partition-tails';
export { streamPartitions, PartitionRange, OnRecords } from './partition-reader';
export {
  ClusterAdmin,
  TopicSize,
  ConsumerGroupInfo,
  GroupMember,
  GroupMembers,
  MetadataBroker,
  describeGroupMembers,
} from './cluster-admin';
export { readTopicRange, followTopics, TopicMessage, TopicFollower, ReadTopicRangeOptions, FollowTopicsOptions } from './topic-reader';
export type { KafkaClient, KafkaAdmin, KafkaProducer, KafkaConsumer, OutgoingMessage, ConsumedMessage } from './kafka-types';
export {
  withAdmin,
  createPipelineTopics,
  groupLag,
  deleteTopicsAndGroups,
  waitForStableGroups,
  withTemporaryTopic,
  topicSettings,
  setTopicSettings,
  overrideTopicSettings,
  TopicSetting,
} from './run-admin';
