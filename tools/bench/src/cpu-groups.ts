// CPU cgroups for the bench's --cpu-per-instance: each consumer instance on a CPU share of its own, a small host
// of its own on one machine (the only way to see scale-out on 2 shared cores). cgroup v1 (cpu.cfs_quota_us) or
// v2 (cpu.max), whichever is writable; a clear error where neither is.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The kernel's default CFS period (µs), where a group's own period file cannot be read. */
const DEFAULT_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms. */
const MIN_QUOTA_US = 1_000;
/** Groups of a bench process are named after it, so leftovers of a killed bench can be told apart and removed. */
const PREFIX = 'movie-stream-bench-';

/** The quota (µs per period) that gives `share` of one CPU (0.2 → 20000 of 100000). */
export function cfsQuotaUs(share: number, periodUs: number): number {
  if (!(share > 0) || !Number.isFinite(share)) throw new Error(`a CPU share must be a number > 0, got ${share}`);
  const quota = Math.round(share * periodUs);
  if (quota < MIN_QUOTA_US)
    throw new Error(`a CPU share of ${share} is a quota of ${quota} µs per ${periodUs} µs; the kernel's minimum is 1000`);
  return quota;
}

/** cgroup v2's cpu.max line for `share` of one CPU. */
export function cpuMaxLine(share: number, periodUs = DEFAULT_PERIOD_US): string {
  return `${cfsQuotaUs(share, periodUs)} ${periodUs}`;
}

/** cgroup v2's cpu.stat usage_usec, in seconds (NaN when absent). */
export function parseCpuStatUsage(text: string): number {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) / 1e6 : NaN;
}

/** cpu.stat's CFS periods in which the group wanted CPU, and those in which its quota ran out (v1 and v2 alike). */
export function parseThrottling(text: string): { periods: number; throttled: number } {
  const n = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { periods: n('nr_periods'), throttled: n('nr_throttled') };
}

/** Where the CPU controller can be used: v1's cpu (and cpuacct, for usage) hierarchies, or a v2 hierarchy with cpu. */
export type CpuHierarchy = { version: 1; cpu: string; cpuacct: string } | { version: 2; root: string };

/**
 * The CPU hierarchies under `root`, in the order they are tried (v1 first: where both exist, cpu is bound to
 * v1 and v2's unified tree lacks it), and why each other candidate was not taken. From files only: whether a
 * hierarchy is writable shows when a group is made.
 */
export function detectCpuHierarchies(root = CGROUP_ROOT): { found: CpuHierarchy[]; notes: string[] } {
  const found: CpuHierarchy[] = [];
  const notes: string[] = [];
  // v1: cpu alone, or co-mounted with cpuacct (then cpu and cpuacct are often symlinks to cpu,cpuacct).
  const v1cpu = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu'].map((d) => join(root, d)).find((d) => existsSync(join(d, 'cpu.cfs_quota_us')));
  if (v1cpu) {
    const acct = [v1cpu, join(root, 'cpuacct'), join(root, 'cpu,cpuacct')].find((d) => existsSync(join(d, 'cpuacct.usage')));
    if (acct) found.push({ version: 1, cpu: v1cpu, cpuacct: acct });
    else notes.push(`cgroup v1: ${v1cpu} has cpu.cfs_quota_us but no cpuacct hierarchy (cpuacct.usage) was found under ${root}`);
  } else notes.push(`cgroup v1: no ${join(root, 'cpu', 'cpu.cfs_quota_us')}`);
  // v2: the tree itself, or the hybrid layout's unified tree.
  for (const dir of [root, join(root, 'unified')]) {
    const controllers = join(dir, 'cgroup.controllers');
    if (!existsSync(controllers)) {
      notes.push(`cgroup v2: no ${controllers}`);
      continue;
    }
    if (readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) found.push({ version: 2, root: dir });
    else notes.push(`cgroup v2: ${controllers} lacks cpu (bound to a v1 hierarchy?)`);
  }
  return { found, notes };
}

function read(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** One group per bench process, with one child group per limited instance; see CpuGroups.create. */
export class CpuGroups {
  /** Directories of the child groups, by name: v1 cpu and cpuacct dirs, or the v2 dir. */
  private readonly groups = new Map<string, string[]>();

  private constructor(
    readonly hierarchy: CpuHierarchy,
    readonly share: number,
    /** The parent group's directories (v1: in cpu and in cpuacct; v2: one). */
    private readonly parents: string[],
  ) {}

  /**
   * Makes this process's parent group in the first writable hierarchy under `root`, or throws what was tried and
   * what is needed. Empty groups left by bench processes that no longer run are removed first.
   */
  static create(share: number, o: { root?: string; name?: string } = {}): CpuGroups {
    cfsQuotaUs(share, DEFAULT_PERIOD_US); // a share the kernel would refuse fails here, before anything is made
    const root = o.root ?? CGROUP_ROOT;
    const name = o.name ?? `${PREFIX}${process.pid}`;
    const { found, notes } = detectCpuHierarchies(root);
    const tried: string[] = [];
    for (const h of found) {
      const parents = h.version === 1 ? [...new Set([h.cpu, h.cpuacct])].map((d) => join(d, name)) : [join(h.root, name)];
      try {
        if (h.version === 2) enableCpu(h.root);
        for (const d of parents) {
          removeStaleGroups(join(d, '..'));
          mkdirSync(d, { recursive: true });
        }
        if (h.version === 2) enableCpu(parents[0]);
        return new CpuGroups(h, share, parents);
      } catch (e) {
        for (const d of parents) rmdirQuietly(d);
        tried.push(`cgroup v${h.version} at ${h.version === 1 ? h.cpu : h.root}: ${(e as Error).message}`);
      }
    }
    throw new Error(
      `--cpu-per-instance needs a writable CPU cgroup, and none was: ${[...tried, ...notes].join('; ')}. Needed: cgroup v1 with ` +
        `${root}/cpu/cpu.cfs_quota_us and cpuacct.usage writable by this user (root), or cgroup v2 with cpu in ` +
        `${root}/cgroup.controllers and in cgroup.subtree_control (+cpu), writable (root or a delegated subtree).`,
    );
  }

  /** Makes (once) the group `name` limited to the share; returns the cgroup.procs files a process joins it by. */
  group(name: string): string[] {
    return this.dirs(name).map((d) => join(d, 'cgroup.procs'));
  }

  /** The group's directories (v1: in cpu, then in cpuacct when that is another hierarchy; v2: one), made once. */
  private dirs(name: string): string[] {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`cgroup name ${name}: letters, digits, _ . - only`);
    let dirs = this.groups.get(name);
    if (!dirs) {
      dirs = this.parents.map((p) => join(p, name));
      for (const d of dirs) mkdirSync(d, { recursive: true });
      this.groups.set(name, dirs);
      const d = dirs[0];
      if (this.hierarchy.version === 1) {
        const periodFile = join(d, 'cpu.cfs_period_us');
        const period = existsSync(periodFile) ? Number(read(periodFile)) : DEFAULT_PERIOD_US;
        writeFileSync(join(d, 'cpu.cfs_quota_us'), String(cfsQuotaUs(this.share, period)));
      } else writeFileSync(join(d, 'cpu.max'), cpuMaxLine(this.share));
    }
    return dirs;
  }

  /**
   * A command prefix (startService's commandPrefix) that runs the command in group `name`: a shell that moves
   * itself into the group and then execs the command, so the process is limited before it does any work and keeps
   * its pid (signals reach it).
   */
  commandPrefix(name: string): string[] {
    const joins = this.group(name).map((f) => `echo $$ > '${f}'`);
    return ['sh', '-c', `${joins.join(' && ')} && exec "$@"`, 'sh'];
  }

  /** Moves a running process into group `name`. */
  add(name: string, pid: number): void {
    for (const f of this.group(name)) writeFileSync(f, String(pid));
  }

  /** The pids in group `name`. */
  pids(name: string): number[] {
    const f = this.group(name)[0];
    return read(f).split('\n').filter(Boolean).map(Number);
  }

  /** CPU-seconds the processes of group `name` used, from the kernel's accounting (v1 cpuacct.usage, v2 cpu.stat). */
  usageSeconds(name: string): number {
    const dirs = this.dirs(name);
    // v1: the cpuacct dir is the last (the only one when co-mounted with cpu).
    if (this.hierarchy.version === 1) return Number(read(join(dirs[dirs.length - 1], 'cpuacct.usage'))) / 1e9;
    return parseCpuStatUsage(readFileSync(join(dirs[0], 'cpu.stat'), 'utf8'));
  }

  /** The group's CFS periods with runnable tasks and those throttled (its cpu.stat). */
  throttling(name: string): { periods: number; throttled: number } {
    return parseThrottling(readFileSync(join(this.dirs(name)[0], 'cpu.stat'), 'utf8'));
  }

  /**
   * Removes every group once its processes are gone (the caller stops them; a group with processes cannot be
   * removed), waiting up to `timeoutMs` for exits in flight. Throws when groups are left.
   */
  async remove(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const dirs = [...[...this.groups.values()].flat(), ...this.parents];
    for (const d of dirs) {
      for (;;) {
        try {
          if (existsSync(d)) rmdirSync(d);
          break;
        } catch (e) {
          if (errorText(e) !== 'EBUSY' || Date.now() > deadline) throw new Error(`could not remove the cgroup ${d}: ${errorText(e)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    this.groups.clear();
  }
}

/** Adds cpu to the controllers a v2 group's children get (a no-op when there). */
function enableCpu(dir: string): void {
  const f = join(dir, 'cgroup.subtree_control');
  if (existsSync(f) && read(f).split(/\s+/).includes('cpu')) return;
  try {
    writeFileSync(f, '+cpu');
  } catch (e) {
    throw new Error(`writing +cpu to ${f}: ${errorText(e)}`);
  }
}

function rmdirQuietly(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    // not made, or not empty: nothing to undo
  }
}

/** Removes the groups (children first) of bench processes that no longer run; groups with processes stay. */
function removeStaleGroups(parent: string): void {
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    const m = new RegExp(`^${PREFIX}(\\d+)$`).exec(entry);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const dir = join(parent, entry);
    for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) rmdirQuietly(join(dir, child.name));
    rmdirQuietly(dir);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorText(e) === 'EPERM';
  }
}
