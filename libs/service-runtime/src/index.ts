export { runService, ServiceContext, COMMON_OPTIONS, CommonOption } from './run-service';
export { connectAndEnsureTopics } from './kafka-setup';
export { runStatefulConsumer, StatefulConsumerSpec, StatefulConsumerResult, sendToDeadLetterQueue, BadMessage } from './stateful-consumer-service';
export { publishCsv, CsvProducerSpec, CsvProducerSummary } from './csv-producer';
