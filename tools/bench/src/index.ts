export { runBench, type BenchOptions, type BenchResult, type Variant } from './bench';
export { dataSet, type DataSet } from './dataset';
export { FIGURES, type RunFigures } from './figures';
export { parseConsumerPerf, parseProducerPerf, runKafkaPerf, type KafkaPerf } from './kafka-perf';
export { parseLogDirs, topicBytes } from './log-dirs';
