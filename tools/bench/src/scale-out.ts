// Scale-out figures (--processors 1,2,3): each count's throughput and processor CPU per rating relative to the
// first count's, in the same run (1 in 1,2,3: "× of one processor", "CPU per rating +x %").
import { fmt, round } from './stats';

export interface ScaleOutRatios {
  /** End-to-end ratings/s ÷ the first count's. */
  throughput_x: number;
  /** Processor CPU-seconds per rating (all instances) relative to the first count's, in % (+47 = 47 % more). */
  processor_cpu_per_rating_pct: number;
  /** The same for the CPU from the producers' start to the drain (each instance's start-up and stop left out). */
  processor_run_cpu_per_rating_pct: number;
}

type Figures = { e2e_ratings_per_s: number; processor_cpu_s_per_1m: number; processor_run_cpu_s_per_1m: number };

export function scaleOutRatios(run: Figures, base: Figures): ScaleOutRatios {
  return {
    throughput_x: round(run.e2e_ratings_per_s / base.e2e_ratings_per_s),
    processor_cpu_per_rating_pct: round((run.processor_cpu_s_per_1m / base.processor_cpu_s_per_1m - 1) * 100),
    processor_run_cpu_per_rating_pct: round((run.processor_run_cpu_s_per_1m / base.processor_run_cpu_s_per_1m - 1) * 100),
  };
}

/** Between a configuration's name and its processor count in a column's name ("coalesce@3p"). */
export const SCALE_OUT_MARK = '@';

/**
 * The configuration a column measures, whose first count is its base: the name before the mark, or '' for the
 * columns of a single configuration ("1-processor", "3-processors"), which carry no mark and share one base.
 */
export function configurationOf(column: string): string {
  const i = column.lastIndexOf(SCALE_OUT_MARK);
  return i < 0 ? '' : column.slice(0, i);
}

export interface ScaleOutRow extends Figures, ScaleOutRatios {
  name: string;
  processors: number;
}

/** The small table of the scale-out figures, one row per configuration. */
export function scaleOutTable(rows: ScaleOutRow[], cpuPerInstance?: number): string {
  const head = [
    cpuPerInstance ? `scale-out (${cpuPerInstance} CPU per consumer instance)` : 'scale-out',
    'processors',
    'ratings/s',
    '× of first',
    'processor CPU-s per 1M',
    'CPU per rating',
    'while the data flows: CPU-s per 1M',
    'CPU per rating',
  ];
  const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)} %` : String(x));
  const body = rows.map((r) => [
    r.name,
    String(r.processors),
    fmt(r.e2e_ratings_per_s),
    `${r.throughput_x.toFixed(2)}×`,
    fmt(r.processor_cpu_s_per_1m),
    pct(r.processor_cpu_per_rating_pct),
    fmt(r.processor_run_cpu_s_per_1m),
    pct(r.processor_run_cpu_per_rating_pct),
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
