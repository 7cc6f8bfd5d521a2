// The runner moved to @movie-stream/pipeline-run; these re-exports keep older imports compiling.
// New code imports @movie-stream/pipeline-run.
export * from '@movie-stream/pipeline-run';
