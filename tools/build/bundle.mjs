#!/usr/bin/env node
// Bundles apps with esbuild: dist/apps/<app>/main.js plus snapshot-worker.js (the storable frame's
// worker thread, a separate entry because a worker needs its own file). Node built-ins stay external.
// Usage: node tools/build/bundle.mjs [app ...]   (default: every app with src/main.ts)
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const apps = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'src', 'main.ts')));

// KafkaJS's producer groups a send's messages with a quadratic function; libs/messaging holds the linear
// replacement (kafkajs-linear-grouping.ts, tested against the original). Outside a bundle the seam swaps
// it into Node's module cache; a bundle has no module cache, so KafkaJS's import of the module is routed
// to the same file here.
const kafkajsGroupingFix = join(root, 'libs', 'messaging', 'src', 'kafkajs-linear-grouping.ts');
const linearGrouping = {
  name: 'kafkajs-linear-grouping',
  setup(b) {
    b.onResolve({ filter: /groupMessagesPerPartition(\.js)?$/ }, (args) =>
      /kafkajs[\\/]src[\\/]producer$/.test(args.resolveDir) || args.path.startsWith('kafkajs/') ? { path: kafkajsGroupingFix } : undefined,
    );
  },
};

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
await Promise.all(
  apps.map((app) =>
    build({
      entryPoints: {
        main: join(root, 'apps', app, 'src', 'main.ts'),
        'snapshot-worker': join(root, 'libs', 'storable-frame', 'src', 'snapshot-worker.ts'),
      },
      outdir: join(root, 'dist', 'apps', app),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      logLevel: 'warning',
      tsconfig: join(root, 'tsconfig.base.json'),
      plugins: [linearGrouping, platformaticWasm],
      define: { 'import.meta.url': '__bundle_url' },
      banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
    }),
  ),
);
// The routing above depends on KafkaJS's file layout: a bundle with the original grouping is an error.
for (const app of apps) {
  if (readFileSync(join(root, 'dist', 'apps', app, 'main.js'), 'utf8').includes('[...current, message]')) {
    throw new Error(
      `dist/apps/${app}/main.js holds KafkaJS's original (quadratic) grouping: the kafkajs-linear-grouping routing did not apply`,
    );
  }
}
console.error(`bundled ${apps.join(', ')} into dist/apps in ${Date.now() - started} ms`);
