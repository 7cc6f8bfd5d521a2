#!/usr/bin/env node
// Bundles apps with esbuild: dist/apps/<app>/main.js plus snapshot-worker.js (the storable frame's
// worker thread, a separate entry because a worker needs its own file). Node built-ins stay external, and
// so do lz4-napi (a native module) and kafkajs (changed at run time, see below): they are copied to
// dist/apps/<app>/node_modules instead.
// Usage: node tools/build/bundle.mjs [--outdir <dir>] [app ...]   (default: every app with src/main.ts, into
// dist/apps; --outdir puts the bundles in <dir>/<app> instead, for a test that must not touch dist/)
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const outdirAt = args.indexOf('--outdir');
const outRoot = outdirAt >= 0 ? resolve(args.splice(outdirAt, 2)[1]) : join(root, 'dist', 'apps');
const apps = args.length ? args : readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'src', 'main.ts')));

// libs/messaging changes some of KafkaJS's files (kafkajs-fix.ts: a table of file, sha256 of the original,
// replacement) by replacing their exports in Node's module cache, after checking KafkaJS's version and the
// pinned files. A bundle has no module cache for what it inlines, so KafkaJS stays a runtime require,
// resolved from a copy of the package beside each bundle: the changes then apply in a bundle exactly as in
// node, tsx and jest, and are checked against the files the bundle really runs. KafkaJS has no dependencies.
const KAFKAJS = 'kafkajs';

// The LZ4 codec of libs/messaging loads lz4-napi, whose code picks a prebuilt .node binary from a platform
// package (@antoniomuso/lz4-napi-<platform>): esbuild cannot inline a binary, so the package stays a
// runtime require, resolved from a copy beside each bundle (an image holds only dist/apps/<app>/). Only
// the platform packages installed here are copied: images must be built on the platform they run on
// (linux-x64-gnu for node:20-bookworm-slim). The codec loads the package on first use only.
const NATIVE = ['lz4-napi'];
function copiedPackageDirs() {
  const dirs = [{ name: KAFKAJS, dir: join(root, 'node_modules', KAFKAJS) }];
  for (const name of NATIVE) {
    const dir = join(root, 'node_modules', name);
    dirs.push({ name, dir });
    const optional = Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).optionalDependencies ?? {});
    for (const dep of optional) {
      const depDir = join(root, 'node_modules', dep);
      if (existsSync(join(depDir, 'package.json'))) dirs.push({ name: dep, dir: depDir });
    }
  }
  return dirs;
}
const copied = copiedPackageDirs();

// @platformatic/kafka (KAFKA_CLIENT=platformatic) is made of ES modules that find files next to themselves
// through import.meta.url, which a CommonJS bundle does not have: its WebAssembly codecs come from the
// package's own single-file build (the .wasm inlined), and import.meta.url is the bundle's own URL (for the
// createRequire of optional native helpers, which fall back to JavaScript when absent).
const platformaticWasm = {
  name: 'platformatic-wasm-inline',
  setup(b) {
    b.onResolve({ filter: /^@platformatic\/wasm-utils$/ }, (args) =>
      b.resolve('@platformatic/wasm-utils/bundled', { kind: args.kind, resolveDir: args.resolveDir }),
    );
  },
};

const started = Date.now();
const results = await Promise.all(
  apps.map((app) =>
    build({
      // Written below, each file whole: services may be starting from these files right now.
      write: false,
      entryPoints: {
        main: join(root, 'apps', app, 'src', 'main.ts'),
        'snapshot-worker': join(root, 'libs', 'storable-frame', 'src', 'snapshot-worker.ts'),
      },
      outdir: join(outRoot, app),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      logLevel: 'warning',
      tsconfig: join(root, 'tsconfig.base.json'),
      plugins: [platformaticWasm],
      // A package named here is external with every path in it (kafkajs/src/...).
      external: [...NATIVE, KAFKAJS],
      define: { 'import.meta.url': '__bundle_url' },
      banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
    }),
  ),
);
// esbuild would truncate and rewrite each file in place, and a service starting in that moment loads a partial
// main.js (an empty one runs and exits 0). A file already as it would be is left alone; another is written
// beside it and renamed over it, so a reader sees the old file or the new one, whole.
for (const { outputFiles } of results) {
  for (const { path, contents } of outputFiles) {
    if (existsSync(path) && readFileSync(path).equals(contents)) continue;
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.new-${process.pid}`;
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  }
}
// Services of an earlier build may be running from these directories (tests build while other tests' services
// run, and KafkaJS loads some of its files on first use): a copy that is already what it would be is left as
// it is, and a new one is put in place by renames, never by deleting the one in use first.
const stamp = JSON.stringify(copied.map(({ name, dir }) => [name, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version]));
for (const app of apps) {
  const modules = join(outRoot, app, 'node_modules');
  const stampFile = join(modules, '.copied.json');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) continue;
  const fresh = `${modules}.new-${process.pid}`;
  const old = `${modules}.old-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  for (const { name, dir } of copied) cpSync(dir, join(fresh, name), { recursive: true, dereference: true });
  writeFileSync(join(fresh, '.copied.json'), stamp);
  if (existsSync(modules)) renameSync(modules, old);
  renameSync(fresh, modules);
  rmSync(old, { recursive: true, force: true });
}
// KafkaJS inlined into a bundle would escape the changes (and their checks): an error. esbuild names every
// file it inlines in a comment (// node_modules/kafkajs/src/...).
for (const app of apps) {
  const text = readFileSync(join(outRoot, app, 'main.js'), 'utf8');
  if (text.includes('node_modules/kafkajs/')) {
    throw new Error(
      `${app}/main.js inlines KafkaJS: it must stay external (see KAFKAJS in tools/build/bundle.mjs) for kafkajs-fix.ts to apply`,
    );
  }
}
console.error(`bundled ${apps.join(', ')} into ${outRoot} in ${Date.now() - started} ms`);
