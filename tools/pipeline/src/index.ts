export { PipelineRun, PipelineOptions } from './run-pipeline';
export { buildApps, ensureLocalKafka, startService, ServiceProcess, AppName, APPS, REPO_ROOT } from './services';
export { readMovieData, topMovies, formatSummary, PipelineSummary, ProducerSummary, MovieDataEntry } from './summary';
