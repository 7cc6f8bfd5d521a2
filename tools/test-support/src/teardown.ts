import type { PipelineRun } from '@movie-stream/pipeline-run';

export interface Teardown {
  /** A run to stop, its topics deleted, after the file's tests (even failed ones: jest would never exit otherwise). */
  run<R extends PipelineRun>(run: R): R;
  /** A clean-up for after the runs have stopped; the last added runs first, a failing one does not stop the rest. */
  add(cleanup: () => Promise<unknown>): void;
}

/** Registers one afterAll for the test file (call at its top level): stops its runs, then runs its clean-ups. */
export function teardownAfterAll(): Teardown {
  const runs: PipelineRun[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const r of runs) {
      await r.stopAll();
      await r.deleteTopics().catch(() => undefined);
    }
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
  return {
    run: (run) => {
      runs.push(run);
      return run;
    },
    add: (cleanup) => cleanups.push(cleanup),
  };
}
