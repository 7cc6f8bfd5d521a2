// CPU seconds and peak RSS of a child process. Exact figures come from exit-usage.cjs (getrusage at the
// child's exit); /proc samples every 200 ms are the fallback when a child died without running it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXIT_USAGE_HOOK = join(__dirname, 'exit-usage.cjs');
const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

export interface ProcUsage {
  cpuSeconds: number;
  peakRssMb: number;
  /** 'exit' = getrusage at exit (exact), 'proc' = last /proc sample. */
  source: 'exit' | 'proc' | 'none';
}

/** One /proc sample: utime+stime and VmHWM (the kernel's own peak-RSS mark). */
export function sampleProc(pid: number): { cpuSeconds: number; hwmKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ')' that closes the command name: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, hwmKb: hwm ? Number(hwm[1]) : 0 };
  } catch {
    return undefined; // gone (or a zombie without memory figures)
  }
}

export class ProcSampler {
  private readonly last = new Map<number, { cpuSeconds: number; hwmKb: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => number[],
    private readonly usageDir: string,
    intervalMs = 200,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    for (const pid of this.pids()) {
      const s = sampleProc(pid);
      if (s) this.last.set(pid, s);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  usage(pid: number | undefined): ProcUsage {
    if (pid === undefined) return { cpuSeconds: 0, peakRssMb: 0, source: 'none' };
    const file = join(this.usageDir, `${pid}.json`);
    if (existsSync(file)) {
      const u = JSON.parse(readFileSync(file, 'utf8')) as { cpuSeconds: number; maxRssKb: number };
      return { cpuSeconds: u.cpuSeconds, peakRssMb: u.maxRssKb / 1024, source: 'exit' };
    }
    const s = this.last.get(pid);
    return s ? { cpuSeconds: s.cpuSeconds, peakRssMb: s.hwmKb / 1024, source: 'proc' } : { cpuSeconds: 0, peakRssMb: 0, source: 'none' };
  }
}
