// The real thing: a busy process in a 0.2-CPU group on this machine's cgroups (skipped, saying why, where
// neither v1 nor v2 is writable).
import { type ChildProcess, spawn } from 'node:child_process';
import { CpuGroups } from './cpu-groups';
import { sampleProc } from './proc-stats';

let groups: CpuGroups | undefined;
let why = '';
try {
  groups = CpuGroups.create(0.2);
} catch (e) {
  why = (e as Error).message;
  // Jest names no test of a suite that only skips: say it here.
  console.warn(`the real CPU cgroup test is SKIPPED: ${why}`);
}

/** Polls `cond` every 20 ms (the condition, not the time, ends the wait; jest's timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe('CPU cgroups on this machine', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await groups?.remove();
  });

  (groups ? it : it.skip)(
    `a busy process in a 0.2-CPU group uses about 0.2 CPU-seconds per second${groups ? ` (cgroup v${groups.hierarchy.version})` : ` — SKIPPED: ${why}`}`,
    async () => {
      const g = groups!;
      const prefix = g.commandPrefix('busy');
      child = spawn(prefix[0], [...prefix.slice(1), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
      const pid = child.pid!;
      await until(() => g.pids('busy').includes(pid));
      // From the kernel's accounting of the group: the wall time it takes to use 0.3 CPU-seconds. Uncapped, a
      // busy loop takes 0.3 s; capped at 0.2 CPU, 1.5 s.
      const u0 = g.usageSeconds('busy');
      const t0 = performance.now();
      await until(() => g.usageSeconds('busy') - u0 >= 0.3);
      const used = g.usageSeconds('busy') - u0;
      const rate = used / ((performance.now() - t0) / 1000);
      expect(rate).toBeGreaterThan(0.1);
      expect(rate).toBeLessThan(0.24);
      // The group's accounting is this process's CPU: its own utime + stime (/proc) agree.
      expect(Math.abs(sampleProc(pid)!.cpuSeconds - g.usageSeconds('busy'))).toBeLessThan(0.05);
    },
    5_000,
  );
});
