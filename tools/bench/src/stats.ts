// Median and spread over runs, and the printed table.

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

export interface Medians {
  [key: string]: number | boolean | Medians;
}

/** Per numeric key: the median over the runs (booleans: all true; objects, e.g. api_load: key by key). */
export function medians<T extends Record<string, unknown>>(runs: T[]): Medians {
  const out: Medians = {};
  for (const k of Object.keys(runs[0] ?? {}).filter((key) => key !== 'run')) {
    const vals = runs.map((r) => r[k]);
    if (vals.every((v) => typeof v === 'number')) out[k] = round(median(vals as number[]));
    else if (vals.every((v) => typeof v === 'boolean')) out[k] = (vals as boolean[]).every(Boolean);
    else if (vals.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v)))
      out[k] = medians(vals as Record<string, unknown>[]);
  }
  return out;
}

export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  return a >= 1000 ? Math.round(x) : a >= 10 ? Math.round(x * 10) / 10 : Math.round(x * 1000) / 1000;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 1000 ? Math.round(x).toLocaleString('en-US') : a >= 10 ? x.toFixed(1) : x.toFixed(3);
}

/** One row per figure, one column per variant: "median [min–max]" (just the value for one run). */
export function table(figures: { key: string; label: string }[], columns: { name: string; runs: Record<string, unknown>[] }[]): string {
  const cell = (runs: Record<string, unknown>[], key: string): string => {
    const vals = runs.map((r) => r[key]);
    if (vals.every((v) => typeof v === 'boolean')) return String((vals as boolean[]).every(Boolean));
    if (!vals.every((v) => typeof v === 'number')) return '';
    const s = spread(vals as number[]);
    return runs.length === 1 ? fmt(s.median) : `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;
  };
  // Figures no run has (e.g. the CPU cap's without --cpu-per-instance) are left out.
  const body = figures.map((f) => [f.label, ...columns.map((c) => cell(c.runs, f.key))]).filter((r) => r.slice(1).some(Boolean));
  const rows = [['figure', ...columns.map((c) => c.name)], ...body];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
