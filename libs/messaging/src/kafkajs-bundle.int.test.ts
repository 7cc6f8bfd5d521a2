// The KafkaJS changes in an app's bundle (tools/build/bundle.mjs, as the services and images run): KafkaJS
// stays a package beside the bundle, so kafkajs-fix.ts checks and changes it there as it does under node
// and jest. The bundle goes to a temporary directory (dist/ may be in use by a running pipeline).
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANGES } from './kafkajs-fix';

const ROOT = join(__dirname, '..', '..', '..');
const APP = 'rating-producer';

describe("KafkaJS's changes in a bundled app", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafkajs-bundle-'));
  const bundle = join(dir, APP);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `node main.js --help` in a bundle directory: the seam loads before the options are printed (on stderr). */
  const run = (appDir: string, preload: string[] = []) =>
    spawnSync(process.execPath, [...preload, join(appDir, 'main.js'), '--help'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

  /** A copy of the bundle whose KafkaJS is edited by `edit` (given the copy's kafkajs directory). */
  const editedCopy = (name: string, edit: (kafkajs: string) => void) => {
    const copy = join(dir, name);
    cpSync(bundle, copy, { recursive: true });
    edit(join(copy, 'node_modules', 'kafkajs'));
    return copy;
  };

  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'build', 'bundle.mjs'), '--outdir', dir, APP], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stderr).toContain(`bundled ${APP}`);
    expect(r.status).toBe(0);
  }, 150_000);

  it('has every change in place in the module cache of the bundled process', () => {
    // Printed at exit by a preloaded script: the module-cache entries kafkajs-fix.ts marked as changed.
    const probe = join(dir, 'probe.js');
    writeFileSync(
      probe,
      `process.on('exit', () => {
        const changed = Symbol.for('movie-stream.kafkajs-change');
        const files = Object.entries(require.cache).filter(([, m]) => m[changed]).map(([p]) => p.split('node_modules/kafkajs/')[1]);
        process.stderr.write('changed: ' + JSON.stringify(files) + '\\n');
      });`,
    );
    const r = run(bundle, ['-r', probe]);
    expect(r.stderr).toContain('--brokers | KAFKA_BROKERS');
    const changed = JSON.parse(/changed: (.*)/.exec(r.stderr)![1]) as string[];
    expect(changed.sort()).toEqual(CHANGES.map((c) => c.file).sort());
  });

  it('refuses to start with a pinned KafkaJS file edited, naming it', () => {
    const copy = editedCopy('edited-file', (kafkajs) =>
      appendFileSync(join(kafkajs, 'src/protocol/requests/fetch/v4/decodeMessages.js'), '\n'),
    );
    const r = run(copy);
    // Node's exit on an uncaught error, before any option was printed.
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('--brokers');
    expect(r.stderr).toMatch(
      /KafkaJS files differ from the ones libs\/messaging\/src\/kafkajs-fix\.ts was written for: kafkajs\/src\/protocol\/requests\/fetch\/v4\/decodeMessages\.js \(sha256 /,
    );
  });

  it('refuses to start with another KafkaJS version, naming it', () => {
    const copy = editedCopy('other-version', (kafkajs) => {
      const file = join(kafkajs, 'package.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"version": "2.2.4"', '"version": "2.3.0"'));
    });
    const r = run(copy);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /kafkajs 2\.3\.0 is installed \(.*\), but libs\/messaging\/src\/kafkajs-fix\.ts changes KafkaJS 2\.2\.4's files/,
    );
  });
});
