export { runService, ServiceContext, COMMON_OPTIONS, CommonOption } from './run-service';
export { connectAndEnsureTopics } from './kafka-setup';
export {
  runStatefulConsumer,
  STATEFUL_CONSUMER_OPTIONS,
  StatefulConsumerSpec,
  StatefulConsumerResult,
  sendToDeadLetterQueue,
  BadMessage,
} from './stateful-consumer-service';
export { publishCsv, CSV_PRODUCER_OPTIONS, CsvProducerSpec, CsvProducerSummary } from './csv-producer';
export { defaultSourceName, sourceIdOf, planResume, SourcePosition, ResumePlan } from './resume';
export { PartitionedState, Changelog, RestoreInfo, writerId } from './partition-owner';
export {
  runDatabaseConsumer,
  DATABASE_CONSUMER_OPTIONS,
  DatabaseConsumerOption,
  DatabaseConsumerSpec,
  DatabaseConsumerResult,
  DatabaseBatch,
  DatabaseCheckpoint,
  isRetryableDbError,
  modeOf,
} from './database-consumer-service';
