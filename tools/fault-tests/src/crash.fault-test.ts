// Guarantees 1, 5 and 7 of docs/RELIABILITY.md: SIGKILLed consumers (often in the middle of a snapshot
// write) lose and double-count nothing, snapshots are never torn, and a deleted snapshot is rebuilt.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { computeReferenceMeans, readSemicolonCsv } from '@movie-stream/test-support';
import { dataset, logOf, mismatches, sleep, trackRuns } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RATINGS = 200_000;
const SLICES = 5;
const track = trackRuns();

beforeAll(() => buildApps());

function slices(ratingsFile: string, dir: string): string[] {
  const lines = readFileSync(ratingsFile, 'utf8').split('\n');
  const body = lines.slice(1).filter(Boolean);
  return Array.from({ length: SLICES }, (_, i) => {
    const f = join(dir, `slice-${i}.csv`);
    writeFileSync(f, [lines[0], ...body.slice(Math.floor((i * body.length) / SLICES), Math.floor(((i + 1) * body.length) / SLICES))].join('\n') + '\n');
    return f;
  });
}

/** The user-facing snapshot must always parse completely: a kill never leaves a torn file. */
async function expectWholeSnapshot(file: string): Promise<void> {
  if (!existsSync(file)) return;
  const rows = await readSemicolonCsv(file);
  for (const r of rows) expect(Number.isInteger(Number(r.movieId))).toBe(true);
}

const stats = { kills: 0, killsWithLag: 0, killsDuringWrite: 0 };

async function killRepeatedly(victim: 'mean-rating-processor' | 'movie-data-sink', seed: number) {
  const { ratingsFile, moviesFile } = await dataset(RATINGS, 2_000);
  const run = new PipelineRun({
    ratingsFile, moviesFile, outDir: join(require('node:os').tmpdir(), `faults-${victim}-${Date.now()}`), brokers,
    log: () => undefined, snapshotIntervalMs: 100, env: { SESSION_TIMEOUT_MS: '6000' },
  });
  track(run);
  run.cleanOutput();
  await run.createTopics();
  const parts = slices(ratingsFile, run.outDir);
  let rnd = seed;
  const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const stateDir = join(run.outDir, '.state', victim);
  run.start('mean-rating-processor');
  run.start('movie-data-sink');
  run.start('movie-producer', ['--movies', moviesFile]);
  await run.producerResult('movie-producer');
  for (const part of parts) {
    run.start('rating-producer', ['--ratings', part]);
    await run.producerResult('rating-producer');
    // A random moment while this slice is being consumed; snapshots every 100 ms make many kills land mid-write.
    await sleep(300 + random() * 1500);
    const lag = await run.lag(victim === 'mean-rating-processor' ? run.groups.processor : run.groups.sink, victim === 'mean-rating-processor' ? [run.topics.ratings] : [run.topics.movies, run.topics.meanRatings]);
    run.service(victim)?.child.kill('SIGKILL');
    await run.service(victim)?.exited;
    stats.kills++;
    if (lag > 0) stats.killsWithLag++;
    if (existsSync(stateDir) && readdirSync(stateDir).some((e) => e.endsWith('.tmp') || e === 'CURRENT.tmp')) stats.killsDuringWrite++;
    await expectWholeSnapshot(join(run.outDir, victim === 'mean-rating-processor' ? 'mean-ratings.csv' : 'movie-data.csv'));
    run.start(victim);
  }
  await run.waitUntilDrained();
  expect(await run.stop('mean-rating-processor')).toBe(0);
  expect(await run.stop('movie-data-sink')).toBe(0);
  return { run, ratingsFile, moviesFile };
}

describe('consumers killed with SIGKILL mid-stream', () => {
  let processorRun: { run: PipelineRun; ratingsFile: string; moviesFile: string };

  it('mean-rating-processor: 5 kills during 200k ratings, result exact', async () => {
    processorRun = await killRepeatedly('mean-rating-processor', 11);
    expect(logOf(processorRun.run, 'mean-rating-processor')).toMatch(/restored mean-ratings snapshot/);
    expect(await mismatches(processorRun.run, processorRun.ratingsFile, processorRun.moviesFile)).toEqual([]);
  });

  it('movie-data-sink: 5 kills, result exact', async () => {
    const r = await killRepeatedly('movie-data-sink', 23);
    expect(logOf(r.run, 'movie-data-sink')).toMatch(/restored movie-data snapshot/);
    expect(await mismatches(r.run, r.ratingsFile, r.moviesFile)).toEqual([]);
  });

  it('kills hit while work was pending', () => {
    // Printed for docs/RELIABILITY.md.
    process.stderr.write(`crash stats: ${JSON.stringify(stats)}\n`);
    expect(stats.kills).toBe(10);
    expect(stats.killsWithLag).toBeGreaterThan(0);
  });

  it('rebuilds a deleted snapshot from the topic (restart from scratch)', async () => {
    const { run, ratingsFile } = processorRun;
    const meanFile = join(run.outDir, 'mean-ratings.csv');
    const before = readFileSync(meanFile, 'utf8');
    rmSync(join(run.outDir, '.state', 'mean-rating-processor'), { recursive: true, force: true });
    rmSync(meanFile);
    run.start('mean-rating-processor');
    // Kafka's committed offsets are at the end: the consumer must seek back to the beginning itself.
    const deadline = Date.now() + 120_000;
    let counted = 0;
    while (Date.now() < deadline) {
      if (existsSync(meanFile)) {
        counted = (await readSemicolonCsv(meanFile)).reduce((s, r) => s + Number(r.count), 0);
        if (counted >= RATINGS) break;
      }
      await sleep(250);
    }
    expect(await run.stop('mean-rating-processor')).toBe(0);
    expect(counted).toBe(RATINGS);
    expect(logOf(run, 'mean-rating-processor')).toMatch(/no mean-ratings snapshot: starting from the beginning/);
    const ref = await computeReferenceMeans(ratingsFile);
    const rows = await readSemicolonCsv(meanFile);
    expect(rows).toHaveLength(ref.means.size);
    for (const r of rows) {
      const m = ref.means.get(Number(r.movieId));
      expect([Number(r.sum), Number(r.count)]).toEqual([m?.sum, m?.count]);
    }
    // Same table as before the deletion (row order may differ).
    const sortLines = (t: string) => t.trim().split('\n').slice(1).sort();
    expect(sortLines(readFileSync(meanFile, 'utf8'))).toEqual(sortLines(before));
  });
});
