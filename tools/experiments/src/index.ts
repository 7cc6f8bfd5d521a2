export { manyProducers, brokerStop, ExperimentResult } from './experiments';
