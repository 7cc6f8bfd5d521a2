import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppName } from './apps';
import { PipelineRun } from './pipeline-run';

describe('PipelineRun commandPrefix', () => {
  it('starts each instance through the prefix it is given for that app and instance', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'command-prefix-'));
    const asked: [AppName, number][] = [];
    const pr = new PipelineRun({
      ratingsFile: 'r.csv',
      moviesFile: 'm.csv',
      outDir,
      brokers: ['127.0.0.1:1'], // never connected: nothing here talks to Kafka
      processors: 2,
      log: () => undefined,
      // A shell that says which instance it runs and execs nothing (the bench's prefix joins a cgroup, then execs).
      commandPrefix: (app, i) => {
        asked.push([app, i]);
        return ['sh', '-c', `echo "${app}-${i}"; exit 0`];
      },
    });
    const s = pr.startInstance('mean-rating-processor', 1);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.stdout).toEqual(['mean-rating-processor-1']);
    expect(asked).toEqual([['mean-rating-processor', 1]]);
    rmSync(outDir, { recursive: true, force: true });
  });
});
