// npm run bench:restore -- [--ratings N] [--movies M] [--partitions P] [--runs R]
// How long a mean-rating-processor takes to make a partition's state current when it gains the partition:
// from its changelog alone (a fresh instance, no local state) and from its own saved state (a restart).
// One processor builds the state first; then, per run, a fresh instance and a restarted one each claim
// every partition, and the times they log ("restored partition p from <source> ... ms") are collected: each is
// a claim's time, fence plus restore, up to that partition's state being current.
// Prints a table, the claim time p50/p99 per kind and, as the last line, one JSON object. Exit 1 when a
// restored table is not exact.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OPTIONS } from '@movie-stream/config';
import { buildApps, ensureLocalKafka, PipelineRun, REPO_ROOT, ServiceProcess, startService } from '@movie-stream/pipeline-run';
import { readSemicolonCsv, until } from '@movie-stream/test-support';
import { dataSet, reference } from './dataset';
import { percentile } from './freshness';

const PROCESSOR = 'mean-rating-processor';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number, got ${process.argv[i + 1]}`);
  return v;
}

interface Restore {
  partition: number;
  source: string;
  recordsRead: number;
  rowsRestored: number;
  ms: number;
}

function restoresIn(logFile: string, from = 0): Restore[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .slice(from)
    .split('\n')
    .filter((l) => l.includes('restored partition'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Restore);
}

async function main(): Promise<void> {
  const ratings = flag('ratings', 1_000_000);
  const movies = flag('movies', 20_000);
  const partitions = flag('partitions', 1);
  const runs = flag('runs', 3);
  const brokers = (process.env[OPTIONS.brokers.env] ?? '127.0.0.1:9092').split(',');
  if (!process.env[OPTIONS.brokers.env]) ensureLocalKafka();
  buildApps();
  const { data } = await dataSet(join(REPO_ROOT, '.bench'), ratings, movies, 7);
  const ref = await reference(data);
  const outDir = resolve(REPO_ROOT, '.bench', 'restore');
  const run = new PipelineRun({ ...data, outDir, brokers, scaled: true, log: (l) => process.stderr.write(l + '\n') });
  run.cleanOutput();
  const rows: { run: number; kind: string; restore: Restore }[] = [];
  let exact = true;
  try {
    await run.createTopics(partitions);
    const instance = (name: string): { s: ServiceProcess; log: string; dir: string } => {
      const dir = join(outDir, 'instances', name);
      const s = startService(PROCESSOR, { ...run.serviceEnv(PROCESSOR), OUT_DIR: dir, INSTANCE_ID: name }, [], join(dir, 'logs'));
      return { s, dir, log: join(dir, 'logs', `${PROCESSOR}.log`) };
    };
    const drain = async (what: string) => {
      const ok = await until(async () => (await run.lag(run.groups.processor, [run.topics.ratings]).catch(() => -1)) === 0, 600_000, 250);
      if (!ok) throw new Error(`${what}: the processor did not drain within 10 minutes`);
    };
    const check = async (dir: string, what: string) => {
      const table = await readSemicolonCsv(join(dir, 'mean-ratings.csv'));
      const bad = table.filter((r) => ref.means.get(Number(r.movieId))?.count !== Number(r.count)).length;
      if (bad || table.length !== ref.means.size) {
        exact = false;
        process.stderr.write(`MISMATCH ${what}: ${bad} movies differ, ${table.length} rows for ${ref.means.size}\n`);
      }
    };
    process.stderr.write(`building the state: ${ratings} ratings, ${movies} movies, ${partitions} partition(s)\n`);
    const builder = instance('builder');
    run.start('rating-producer', ['--ratings', data.ratingsFile]);
    await run.producerResult('rating-producer');
    await drain('building');
    builder.s.child.kill('SIGTERM');
    await builder.s.exited;
    for (let r = 1; r <= runs; r++) {
      // From the changelog: an instance with no state of its own.
      const fresh = instance(`fresh-${r}`);
      if (!(await until(() => restoresIn(fresh.log).length >= partitions, 120_000, 50))) throw new Error('no restore logged');
      for (const restore of restoresIn(fresh.log)) rows.push({ run: r, kind: 'changelog (no local state)', restore });
      await drain('fresh');
      fresh.s.child.kill('SIGTERM');
      await fresh.s.exited;
      await check(fresh.dir, `run ${r} from the changelog`);
      // The same instance again: its saved state is current, the changelog read finds nothing newer.
      const again = instance(`fresh-${r}`);
      const from = readFileSync(again.log, 'utf8').length;
      if (!(await until(() => restoresIn(again.log, from).length >= partitions, 120_000, 50))) throw new Error('no restore logged');
      for (const restore of restoresIn(again.log, from)) rows.push({ run: r, kind: 'local state (restart)', restore });
      again.s.child.kill('SIGTERM');
      await again.s.exited;
      await check(again.dir, `run ${r} from the local state`);
    }
  } finally {
    await run.stopAll();
    await run.deleteTopics().catch(() => undefined);
  }
  const table = [
    'run  restored from               partition  records read  rows     ms',
    ...rows.map(
      (x) =>
        `${String(x.run).padEnd(5)}${x.kind.padEnd(29)}${String(x.restore.partition).padEnd(11)}${String(x.restore.recordsRead).padEnd(14)}` +
        `${String(x.restore.rowsRestored).padEnd(9)}${x.restore.ms}`,
    ),
  ];
  // Claim time (fence + restore) per kind of restore, over every run and partition.
  const claims = [...new Set(rows.map((x) => x.kind))].map((kind) => {
    const ms = rows.filter((x) => x.kind === kind).map((x) => x.restore.ms);
    return { kind, claims: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) };
  });
  const claimLines = claims.map((c) => `claim time, ${c.kind}: p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms (${c.claims} claims)`);
  process.stdout.write(
    `\nmovie-stream restore bench: ${ratings} ratings, ${movies} movies, ${partitions} partition(s)\n${table.join('\n')}\n` +
      `${claimLines.join('\n')}\n`,
  );
  process.stdout.write(JSON.stringify({ ratings, movies, partitions, exact, claims, restores: rows }) + '\n');
  process.exitCode = exact ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`bench:restore failed: ${e.stack ?? e.message}\n`);
  process.exit(2);
});
