import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cfsQuotaUs, cpuMaxLine, CpuGroups, detectCpuHierarchies, parseCpuStatUsage, parseThrottling } from './cpu-groups';

/** A fake /sys/fs/cgroup: directories with the files detection looks for. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  return root;
}

const roots: string[] = [];
const fake = (files: Record<string, string>) => {
  const r = tree(files);
  roots.push(r);
  return r;
};
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('CPU cgroups: the arithmetic', () => {
  it('a share of one CPU is that share of the period as quota', () => {
    expect(cfsQuotaUs(0.2, 100_000)).toBe(20_000);
    expect(cfsQuotaUs(1.5, 100_000)).toBe(150_000); // more than one CPU: quota above the period
    expect(cfsQuotaUs(0.25, 50_000)).toBe(12_500);
    expect(cpuMaxLine(0.2)).toBe('20000 100000');
  });

  it('refuses shares the kernel would refuse or that mean nothing', () => {
    expect(() => cfsQuotaUs(0.005, 100_000)).toThrow(/minimum is 1000/);
    for (const bad of [0, -0.2, NaN, Infinity]) expect(() => cfsQuotaUs(bad, 100_000)).toThrow(/share/);
  });

  it("reads v2's usage_usec from cpu.stat", () => {
    expect(parseCpuStatUsage('usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n')).toBe(2.5);
    expect(parseCpuStatUsage('nr_periods 3\n')).toBeNaN();
  });

  it("reads the periods throttled from cpu.stat (v1's and v2's)", () => {
    expect(parseThrottling('nr_periods 120\nnr_throttled 30\nthrottled_time 900\nnr_bursts 0\n')).toEqual({ periods: 120, throttled: 30 });
    expect(parseThrottling('usage_usec 5\nnr_periods 8\nnr_throttled 2\nthrottled_usec 4\n')).toEqual({ periods: 8, throttled: 2 });
  });
});

describe('CPU cgroups: detection on a directory tree', () => {
  it('v1 with cpu and cpuacct as hierarchies of their own (as on this machine)', () => {
    const root = fake({ 'cpu/cpu.cfs_quota_us': '-1', 'cpuacct/cpuacct.usage': '0', 'unified/cgroup.controllers': '' });
    const { found, notes } = detectCpuHierarchies(root);
    expect(found).toEqual([{ version: 1, cpu: join(root, 'cpu'), cpuacct: join(root, 'cpuacct') }]);
    expect(notes.join('\n')).toMatch(/unified\/cgroup.controllers lacks cpu/);
  });

  it('v1 with cpu and cpuacct co-mounted (cpu a symlink to cpu,cpuacct)', () => {
    const root = fake({ 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpuacct.usage': '0' });
    symlinkSync(join(root, 'cpu,cpuacct'), join(root, 'cpu'));
    const { found } = detectCpuHierarchies(root);
    expect(found).toEqual([{ version: 1, cpu: join(root, 'cpu'), cpuacct: join(root, 'cpu') }]);
  });

  it('v2 with the cpu controller, at the root', () => {
    const root = fake({ 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup.subtree_control': '' });
    expect(detectCpuHierarchies(root).found).toEqual([{ version: 2, root }]);
  });

  it('neither: nothing found, and why', () => {
    const root = fake({ 'cgroup.controllers': 'memory pids\n' });
    const { found, notes } = detectCpuHierarchies(root);
    expect(found).toEqual([]);
    expect(notes.join('\n')).toMatch(/no .*cpu\/cpu.cfs_quota_us/);
    expect(notes.join('\n')).toMatch(/lacks cpu/);
  });
});

describe('CPU cgroups: groups on a directory tree', () => {
  it('v1: a group per instance under one group of the bench, with the quota from its period', () => {
    const root = fake({ 'cpu/cpu.cfs_quota_us': '-1', 'cpuacct/cpuacct.usage': '0' });
    const g = CpuGroups.create(0.2, { root, name: 'movie-stream-bench-test' });
    mkdirSync(join(root, 'cpu/movie-stream-bench-test/p-0'));
    writeFileSync(join(root, 'cpu/movie-stream-bench-test/p-0/cpu.cfs_period_us'), '50000\n'); // as the kernel would
    expect(g.group('p-0')).toEqual([
      join(root, 'cpu/movie-stream-bench-test/p-0/cgroup.procs'),
      join(root, 'cpuacct/movie-stream-bench-test/p-0/cgroup.procs'),
    ]);
    expect(readFileSync(join(root, 'cpu/movie-stream-bench-test/p-0/cpu.cfs_quota_us'), 'utf8')).toBe('10000');
    // The prefix joins both hierarchies, then execs the command (same pid).
    const prefix = g.commandPrefix('p-0');
    expect(prefix.slice(0, 2)).toEqual(['sh', '-c']);
    expect(prefix[2]).toBe(
      `echo $$ > '${join(root, 'cpu/movie-stream-bench-test/p-0/cgroup.procs')}' && ` +
        `echo $$ > '${join(root, 'cpuacct/movie-stream-bench-test/p-0/cgroup.procs')}' && exec "$@"`,
    );
    expect(() => g.group("x'; rm -rf /")).toThrow(/letters, digits/);
  });

  it('v2: +cpu for the children of the root and of the bench group, cpu.max per instance', () => {
    const root = fake({ 'cgroup.controllers': 'cpu memory\n', 'cgroup.subtree_control': 'memory\n' });
    const g = CpuGroups.create(0.2, { root, name: 'movie-stream-bench-test' });
    g.group('s-0');
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu');
    expect(readFileSync(join(root, 'movie-stream-bench-test/cgroup.subtree_control'), 'utf8')).toBe('+cpu');
    expect(readFileSync(join(root, 'movie-stream-bench-test/s-0/cpu.max'), 'utf8')).toBe('20000 100000');
  });

  it('neither writable nor present: an error that says what was tried and what is needed', () => {
    const root = fake({ 'cgroup.controllers': 'memory\n' });
    expect(() => CpuGroups.create(0.2, { root })).toThrow(
      /needs a writable CPU cgroup.*no .*cpu.cfs_quota_us.*lacks cpu.*Needed: cgroup v1/s,
    );
  });
});
