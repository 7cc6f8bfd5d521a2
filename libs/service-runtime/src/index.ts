export { runService, ServiceContext, COMMON_OPTIONS, CommonOption } from './run-service';
export { connectAndEnsureTopics } from './kafka-setup';
export {
  consumerGroupId,
  runConsumerService,
  StateBackend,
  ConsumerParts,
  ConsumerServiceSpec,
  ConsumerServiceContext,
  KafkaParts,
  KafkaSide,
  ServiceConsumer,
} from './consumer-service';
export { runStatefulConsumer, sendToDeadLetterQueue, BadMessage } from './stateful-consumer-service';
export { STATEFUL_CONSUMER_OPTIONS, Serving, StatefulConsumerSpec, StatefulConsumerResult } from './stateful-consumer-spec';
export { publishCsv, CSV_PRODUCER_OPTIONS, CsvProducerSpec, CsvProducerSummary } from './csv-producer';
export { defaultSourceName, sourceIdOf, planResume, SourcePosition, ResumePlan } from './resume';
export { PartitionedState, Changelog, RestoreInfo, writerId } from './partition-owner';
export { runDatabaseConsumer, DatabaseCheckpoint, isRetryableDbError, modeOf } from './database-consumer-service';
export {
  DATABASE_CONSUMER_OPTIONS,
  DatabaseConsumerOption,
  DatabaseConsumerSpec,
  DatabaseConsumerResult,
  DatabaseBatch,
} from './database-consumer-spec';
export { advertisedUrl, movieApiOptions, routedMovieApi, RoutedApiOptions } from './query-routing';
