// The processor on a small host's memory: a memory cgroup of 300 MiB (cgroup v1's memory controller, as a
// container's limit would be) over a backlog of 10,000,000 ratings (60,000 movies) published before it starts,
// so that every fetch comes back full. It must never reach the limit's OOM killer, and its table must be exact.
// Node sizes V8's heap from the cgroup's limit; what V8 cannot shrink is what the consumer holds at once, which
// the per-partition decoding of fetches keeps to one partition's records (KAFKAJS_EAGER_FETCH=1 turns it off).
// Needs root and a writable /sys/fs/cgroup/memory; skipped visibly otherwise.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { dataset, drained, meanMismatches, Processors, trackRuns } from './harness';

jest.setTimeout(1_500_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const MEMORY = '/sys/fs/cgroup/memory';
const LIMIT_MIB = 300;
const RATINGS = 10_000_000;
const track = trackRuns();

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a memory cgroup)';
  if (!existsSync(join(MEMORY, 'cgroup.procs'))) return `needs the cgroup v1 memory controller at ${MEMORY}`;
  return undefined;
}

const name = `the processor in a ${LIMIT_MIB} MiB memory cgroup on a backlog of ${RATINGS.toLocaleString('en')} ratings: never OOM-killed, exact`;
const reason = whyNot();
if (reason) process.stderr.write(`skipped "${name}": ${reason}\n`);

(reason ? describe.skip : describe)(reason ? `${name} [skipped: ${reason}]` : name, () => {
  const group = join(MEMORY, `movie-stream-test-${process.pid}`);
  const read = (file: string) => readFileSync(join(group, file), 'utf8');
  beforeAll(() => buildApps());
  afterAll(() => {
    // Empty once the processor exited; a cgroup with no process in it can be removed.
    if (existsSync(group)) rmdirSync(group);
  });

  it('drains the backlog within the limit and ends with every mean exact', async () => {
    mkdirSync(group);
    writeFileSync(join(group, 'memory.limit_in_bytes'), String(LIMIT_MIB * 1024 * 1024));
    const { ratingsFile, moviesFile } = await dataset(RATINGS, 60_000, 11);
    const run = track(
      new PipelineRun({ ratingsFile, moviesFile, outDir: join(tmpdir(), `faults-memory-${Date.now()}`), brokers, log: () => undefined }),
    );
    run.cleanOutput();
    await run.createTopics();
    run.start('rating-producer', ['--ratings', ratingsFile]);
    await run.producerResult('rating-producer');

    // The shell joins the cgroup and then becomes the processor: the process is inside from its first byte.
    const procs = new Processors(run);
    const small = procs.start('small', ['sh', '-c', `echo $$ > ${join(group, 'cgroup.procs')} && exec "$@"`, 'sh']);
    // An OOM kill is a SIGKILL: the race ends the test at once with it instead of waiting for a drain.
    await Promise.race([
      drained(run, procs, ['small']),
      small.exited.then((e) => {
        throw new Error(`the processor exited (${e.code ?? e.signal}) before it drained:\n${procs.log('small').slice(-2000)}`);
      }),
    ]);
    const peakMiB = Number(read('memory.max_usage_in_bytes')) / 1024 / 1024;
    const oomKills = Number(/oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1] ?? 0);
    process.stderr.write(
      `processor in a ${LIMIT_MIB} MiB cgroup: peak ${peakMiB.toFixed(0)} MiB (page cache included), limit hit ${read('memory.failcnt').trim()} times, OOM kills ${oomKills}\n`,
    );
    small.child.kill('SIGTERM');
    expect((await small.exited).code).toBe(0);
    expect(oomKills).toBe(0);
    expect(await meanMismatches(join(procs.dir('small'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
  });
});
