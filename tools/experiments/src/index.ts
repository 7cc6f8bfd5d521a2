export { manyProducers, brokerStop, ExperimentResult } from './experiments';
export { ExperimentCluster } from './cluster';
