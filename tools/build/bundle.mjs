#!/usr/bin/env node
// Bundles apps with esbuild: dist/apps/<app>/main.js plus snapshot-worker.js (the storable frame's
// worker thread, a separate entry because a worker needs its own file). Node built-ins stay external.
// Usage: node tools/build/bundle.mjs [app ...]   (default: every app with src/main.ts)
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const apps = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'src', 'main.ts')));

// KafkaJS 2.2.4 groups a send's messages by partition by copying the partition's array for every message
// (`[...current, message]`): quadratic in the messages per send, a large share of the producers' CPU.
// The same grouping, linear. (KafkaJS is unmaintained; the bundles are what runs in production.)
const linearGrouping = {
  name: 'kafkajs-linear-grouping',
  setup(b) {
    b.onLoad({ filter: /kafkajs[\\/]src[\\/]producer[\\/]groupMessagesPerPartition\.js$/ }, () => ({
      loader: 'js',
      contents: `module.exports = ({ topic, partitionMetadata, messages, partitioner }) => {
  const result = {}
  if (partitionMetadata.length === 0) return result
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    ;(result[partition] || (result[partition] = [])).push(message)
  }
  return result
}`,
    }));
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
      plugins: [linearGrouping],
    }),
  ),
);
console.error(`bundled ${apps.join(', ')} into dist/apps in ${Date.now() - started} ms`);
