// A build while services run from the bundles: tests build the apps while other tests' services start from
// dist/apps, so a service must never load a bundle file half-written (an empty main.js runs and exits 0:
// CI saw "mean-rating-processor instance 0 exited with 0 on start").
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './apps';

const APP = 'rating-producer';
const bundle = (outDir: string) => [join(REPO_ROOT, 'tools', 'build', 'bundle.mjs'), '--outdir', outDir, APP];

describe('tools/build/bundle.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a bundle only whole: a reader during rebuilds sees every file complete', async () => {
    const first = spawnSync(process.execPath, bundle(dir), { encoding: 'utf8', timeout: 120_000 });
    expect(first.status).toBe(0);
    const main = join(dir, APP, 'main.js');
    const complete = readFileSync(main, 'utf8');
    expect(complete).toMatch(/\/\/# sourceMappingURL=main\.js\.map\s*$/);

    // Read the file as fast as possible while the bundler runs three more times over the same directory.
    let reads = 0;
    const partial: number[] = [];
    let building = true;
    const builds = (async () => {
      for (let i = 0; i < 3; i++) {
        const child = spawn(process.execPath, bundle(dir), { stdio: 'ignore' });
        const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
        expect(code).toBe(0);
      }
      building = false;
    })();
    while (building) {
      let text = '';
      try {
        text = readFileSync(main, 'utf8');
      } catch {
        // A moment with no file at all is as bad as a partial one for a process starting then.
      }
      reads++;
      if (text.length !== complete.length) partial.push(text.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await builds;
    expect(reads).toBeGreaterThan(10);
    expect({ reads, partial: partial.slice(0, 5) }).toEqual({ reads, partial: [] });
  }, 240_000);
});
