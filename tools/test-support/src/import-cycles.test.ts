// The import-circle check of `npm run lint` (tools/build/import-cycles.cjs, run here as lint runs it): it finds
// circles of every kind of import, and libs/, apps/ and tools/ have none.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '..', '..', 'build', 'import-cycles.cjs');
const check = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

describe('import-cycles', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'import-cycles-'));
    const files: Record<string, string> = {
      // A type-only import one way, a dynamic import the other (the circle libs/messaging had).
      'libs/a/src/types-user.ts': "import type { T } from './loader';\nexport const u = (t: T) => t;\n",
      'libs/a/src/loader.ts': "export type T = number;\nexport const load = () => import('./types-user');\n",
      // Three files through `export ... from` and require(); the fourth only imports one of them.
      'apps/b/src/one.ts': "export { two } from './two';\nexport const one = 1;\n",
      'apps/b/src/two.ts': "export const two = () => require('./three');\n",
      'apps/b/src/three.ts': "import { one } from './one';\nexport const three = one;\n",
      'apps/b/src/outside.ts': "import { one } from './one';\nexport const x = one;\n",
      // No circle: a chain.
      'libs/c/src/x.ts': "import { y } from './y';\nexport const x = y;\n",
      'libs/c/src/y.ts': 'export const y = 1;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds circles through type-only, dynamic, re-export and require() imports, and nothing else', () => {
    const r = check('--root', root, 'libs', 'apps');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'import-cycles: 2 import circle(s) (move what both sides need into a third module):',
      '  apps/b/src/one.ts -> apps/b/src/two.ts -> apps/b/src/three.ts -> apps/b/src/one.ts',
      '  libs/a/src/loader.ts -> libs/a/src/types-user.ts -> libs/a/src/loader.ts',
    ]);
  });

  it('libs/, apps/ and tools/ have no import circle', () => {
    const r = check();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
