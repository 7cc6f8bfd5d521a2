export { runBench, dataSet, FIGURES, type BenchOptions, type BenchResult, type RunFigures, type Variant } from './bench';
export { parseConsumerPerf, parseProducerPerf, runKafkaPerf, type KafkaPerf } from './kafka-perf';
