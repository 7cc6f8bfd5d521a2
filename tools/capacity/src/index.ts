export {
  capacity,
  evenPartitions,
  instancesFor,
  rBound,
  DOCUMENT_INPUTS,
  type CapacityInputs,
  type CapacityResult,
  type PerR,
} from './capacity';
export { lastJsonLine, measuredFromBench, type BenchLine, type Line, type Measured, type MeasuredInputs } from './bench-line';
export { parseCapacityArgs, USAGE, type CapacityArgs } from './args';
