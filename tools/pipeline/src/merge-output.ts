// npm run merge-output -- --out DIR: merges a scaled run's instance states (DIR/instances/<app>-<i>) into
// DIR/mean-ratings.csv and DIR/movie-data.csv, e.g. after instances were stopped by hand.
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeRunOutputs } from '@movie-stream/pipeline-run';

const USAGE = 'npm run merge-output -- --out DIR   (the --out of a run with --processors/--sinks)';

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.out) throw new Error(`--out is required: ${USAGE}`);
  for (const m of mergeRunOutputs(values.out)) {
    // A state dir is <out>/instances/<app>-<i>/.state/<app>: name the instance.
    const from = m.partitions.map((p) => `${p.partition}←${basename(dirname(dirname(p.from)))}`);
    process.stdout.write(`${m.file}: ${m.rows} rows from ${m.instances} ${m.app} instances (partition←instance: ${from.join(' ')})\n`);
    for (const w of m.warnings) process.stderr.write(`warning: ${m.app}: ${w}\n`);
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`merge-output failed: ${(e as Error).message}\n`);
  process.exit(1);
}
