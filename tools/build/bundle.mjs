#!/usr/bin/env node
// Bundles apps with esbuild: dist/apps/<app>/main.js plus snapshot-worker.js (the storable frame's
// worker thread, a separate entry because a worker needs its own file). Node built-ins stay external, and
// so does lz4-napi (a native module): it is copied to dist/apps/<app>/node_modules instead.
// Usage: node tools/build/bundle.mjs [app ...]   (default: every app with src/main.ts)
import { build } from 'esbuild';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

// The LZ4 codec of libs/messaging loads lz4-napi, whose code picks a prebuilt .node binary from a platform
// package (@antoniomuso/lz4-napi-<platform>): esbuild cannot inline a binary, so the package stays a
// runtime require, resolved from a copy beside each bundle (an image holds only dist/apps/<app>/). Only
// the platform packages installed here are copied: images must be built on the platform they run on
// (linux-x64-gnu for node:20-bookworm-slim). The codec loads the package on first use only.
const NATIVE = ['lz4-napi'];
function nativePackageDirs() {
  const dirs = [];
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
const natives = nativePackageDirs();

// The same for KafkaJS's record encoder (kafkajs-fast-record.ts: a pre-sized buffer per record instead of
// 512 zeroed bytes), which KafkaJS's produce request imports as '../../../recordBatch/record/v0'.
const fastRecord = join(root, 'libs', 'messaging', 'src', 'kafkajs-fast-record.ts');
const presizedRecords = {
  name: 'kafkajs-fast-record',
  setup(b) {
    b.onResolve({ filter: /recordBatch[\\/]record[\\/]v0([\\/]index)?(\.js)?$/ }, (args) =>
      /kafkajs[\\/]src[\\/]protocol[\\/]requests[\\/]produce[\\/]v3$/.test(args.resolveDir) || args.path.startsWith('kafkajs/')
        ? { path: fastRecord }
        : undefined,
    );
  },
};

// And its record decoder (kafkajs-fast-record-decoder.ts: numbers instead of BigInt sums per record),
// imported by the record batch decoder as '../record/v0/decoder'.
const fastRecordDecoder = join(root, 'libs', 'messaging', 'src', 'kafkajs-fast-record-decoder.ts');
const numberDecoding = {
  name: 'kafkajs-fast-record-decoder',
  setup(b) {
    b.onResolve({ filter: /record[\\/]v0[\\/]decoder(\.js)?$/ }, (args) =>
      /kafkajs[\\/]src[\\/]protocol[\\/]recordBatch[\\/]v0$/.test(args.resolveDir) || args.path.startsWith('kafkajs/')
        ? { path: fastRecordDecoder }
        : undefined,
    );
  },
};

// And its produce request (kafkajs-fast-produce.ts: a plain batch written into one buffer), required as
// './v3/request' by produce/index.js and as '../v3/request' by the later versions.
const fastProduce = join(root, 'libs', 'messaging', 'src', 'kafkajs-fast-produce.ts');
const onePassBatches = {
  name: 'kafkajs-fast-produce',
  setup(b) {
    b.onResolve({ filter: /v3[\\/]request(\.js)?$/ }, (args) =>
      /kafkajs[\\/]src[\\/]protocol[\\/]requests[\\/]produce([\\/]v\d)?$/.test(args.resolveDir) ||
      args.path.startsWith('kafkajs/src/protocol/requests/produce/')
        ? { path: fastProduce }
        : undefined,
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
      plugins: [linearGrouping, presizedRecords, numberDecoding, onePassBatches, platformaticWasm],
      external: NATIVE,
      define: { 'import.meta.url': '__bundle_url' },
      banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
    }),
  ),
);
for (const app of apps) {
  const modules = join(root, 'dist', 'apps', app, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  for (const { name, dir } of natives) cpSync(dir, join(modules, name), { recursive: true, dereference: true });
}
// The routing above depends on KafkaJS's file layout: a bundle with the original grouping or record encoder
// (its `new Encoder()` without a size, followed by the record's attributes byte) is an error.
for (const app of apps) {
  const text = readFileSync(join(root, 'dist', 'apps', app, 'main.js'), 'utf8');
  if (text.includes('[...current, message]')) {
    throw new Error(
      `dist/apps/${app}/main.js holds KafkaJS's original (quadratic) grouping: the kafkajs-linear-grouping routing did not apply`,
    );
  }
  if (/new Encoder\(\)\s*\.writeVarInt\(sizeOfBody\)/.test(text)) {
    throw new Error(`dist/apps/${app}/main.js holds KafkaJS's original record encoder: the kafkajs-fast-record routing did not apply`);
  }
  if (text.includes('kafkajs/src/protocol/requests/produce/v3/request.js')) {
    throw new Error(`dist/apps/${app}/main.js holds KafkaJS's original produce request: the kafkajs-fast-produce routing did not apply`);
  }
  if (text.includes('kafkajs/src/protocol/recordBatch/record/v0/decoder.js')) {
    throw new Error(
      `dist/apps/${app}/main.js holds KafkaJS's original record decoder: the kafkajs-fast-record-decoder routing did not apply`,
    );
  }
}
console.error(`bundled ${apps.join(', ')} into dist/apps in ${Date.now() - started} ms`);
