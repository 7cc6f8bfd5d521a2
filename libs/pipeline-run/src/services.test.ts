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

  it('resolves `exited` only once all of the output is read (a producer summary is its last line)', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'start-service-'));
    // The process exits while output is still on its way (here from a child that writes last): resolved on
    // 'exit', the last line was missing (command-prefix.test failed so in CI with an ordinary echo and exit).
    const prefix = ['sh', '-c', 'echo first; (sleep 0.3; echo last) & exit 0'];
    const s = startService('mean-rating-processor', {}, [], logDir, 'late-output', prefix);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.stdout).toEqual(['first', 'last']);
    rmSync(logDir, { recursive: true, force: true });
  });
});
