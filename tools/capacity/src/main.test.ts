// The CLI end to end: a bench output on stdin → tables and a JSON line; a broken line → exit 1 with the reason.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { capacity, DOCUMENT_INPUTS } from './capacity';

const ROOT = resolve(__dirname, '..', '..', '..');
const run = (args: string[], input: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'tools/capacity/src/main.ts', ...args], { cwd: ROOT, input, encoding: 'utf8' });

it('reads the bench line from stdin and prints the sizing and a JSON line that agree with capacity()', () => {
  const bench = {
    ratings: 1_000_000,
    processors: 1,
    processor_cpu_s_per_1m: 19.18,
    ratings_per_mean_rating: 1,
    sink_cpu_s: 2.4,
    mean_rating_messages: 100_000,
    producer_cpu_s_per_1m: 3.5,
    ratings_topic_mb: 43,
    mean_ratings_topic_mb: 4.2,
  };
  const r = run(['--bench', '-', '--ratings-per-day', '1000000000'], `| table |\n${JSON.stringify(bench)}\n`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1]) as ReturnType<typeof capacity> & { inputs: typeof DOCUMENT_INPUTS };
  // These figures are the document's inputs (c_proc(1) = 1.68 + 17.5), so the document's sizing comes out.
  expect(json.inputs.procPerMessageUs).toBeCloseTo(17.5, 9);
  expect(json.partitions).toBe(24);
  expect(json.perR.map((p) => p.procInstances)).toEqual(capacity(DOCUMENT_INPUTS).perR.map((p) => p.procInstances));
  expect(r.stdout).toContain('| mean-rating-processor instances (1 vCPU each) | **8**');
});

it('exits 1 naming the missing field, 2 for a bad flag', () => {
  const r = run(['--bench', '-'], '{"ratings":1000000}\n');
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('capacity: stdin: field processor_cpu_s_per_1m is missing');
  const bad = run(['--peak-factor', 'x'], '');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--peak-factor x: not a number');
});
