import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './apps';
import { startService } from './services';

describe('startService', () => {
  it('runs the service through a command prefix: the prefix gets node, the bundle and the arguments, and the environment', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'start-service-'));
    // The prefix stands in for `ip netns exec <ns>`: a shell that prints what it was given and execs nothing.
    const prefix = ['sh', '-c', 'echo "$0|$*"; echo "MARK=$MARK"; exit 3'];
    const s = startService('mean-rating-processor', { MARK: 'from-env' }, ['--a', 'b c'], logDir, 'prefixed', prefix);
    expect(await s.exited).toEqual({ code: 3, signal: null });
    expect(s.stdout).toEqual([
      `${process.execPath}|${join(REPO_ROOT, 'dist', 'apps', 'mean-rating-processor', 'main.js')} --a b c`,
      'MARK=from-env',
    ]);
    rmSync(logDir, { recursive: true, force: true });
  });
});
