export { APPS, AppName, CONSUMER_APPS, ConsumerApp, PRODUCER_APPS, ProducerApp, REPO_ROOT } from './apps';
export { runLayout, RunLayout, configEnv } from './layout';
export { PipelineRun, PipelineOptions, RunSteps } from './pipeline-run';
export { buildApps, ensureLocalKafka, startService, ServiceProcess } from './services';
export { readMovieData, topMovies, formatSummary, PipelineSummary, ProducerSummary, MovieDataEntry } from './summary';
export { closeAndExit, closeWithin, openSince, Resources } from './shutdown';
export { instanceLayout, InstanceLayout, INSTANCES_DIR, CONSUMER_OUTPUT } from './layout';
export { mergeRunOutputs, instanceStateDirs, MergedOutput } from './merge-outputs';
export {
  claimed,
  restartSchedule,
  restartUntilClaimed,
  startRollingRestart,
  RestartResult,
  RestartStep,
  RollingRestart,
} from './rolling-restart';
