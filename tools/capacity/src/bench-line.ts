// The measured inputs of the capacity model read off `npm run bench` JSON lines (docs/CAPACITY.md §2, "How each
// row is read off the output"). Field names are tools/bench/src/figures.ts's RunFigures keys.
import type { RunFigures } from '@movie-stream/bench';

export type BenchLine = Record<string, unknown>;

/** The last line of a bench's output that parses as a JSON object (the bench prints a table, then that line). */
export function lastJsonLine(text: string, source: string): BenchLine {
  const lines = text.split('\n');
  for (let k = lines.length - 1; k >= 0; k--) {
    const line = lines[k].trim();
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as BenchLine;
    } catch {
      // a table row or log line that starts with a brace: keep looking upwards
    }
  }
  throw new Error(`${source}: no line parses as a JSON object (expected the last line of npm run bench's output)`);
}

/** The measured inputs a bench line can give; each with where it came from. */
export interface MeasuredInputs {
  procFixedUs?: number;
  procPerMessageUs?: number;
  scaleOutFactor?: number;
  sinkUsPerMessage?: number;
  producerUsPerRating?: number;
  ratingBytes?: number;
  meanRatingBytes?: number;
}

export type MeasuredKey = keyof MeasuredInputs;

export interface Measured {
  values: MeasuredInputs;
  /** Per input: how it was derived, for the printed inputs table. */
  sources: Partial<Record<MeasuredKey, string>>;
  notes: string[];
}

export interface Line {
  source: string;
  line: BenchLine;
}

function field(l: Line, key: keyof RunFigures, why: string): number {
  const v = l.line[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    const seen = v === undefined ? 'missing' : `${JSON.stringify(v)}, not a finite number ≥ 0`;
    throw new Error(`${l.source}: field ${key} is ${seen} (needed for ${why}; give that input as a flag instead)`);
  }
  return v;
}

function positive(l: Line, key: keyof RunFigures, why: string): number {
  const v = field(l, key, why);
  if (v === 0) throw new Error(`${l.source}: field ${key} is 0 (needed for ${why}, which divides by it)`);
  return v;
}

/** The largest over the lines, with the line it came from: the cautious choice when runs disagree. */
function largest(lines: Line[], of: (l: Line) => number): { value: number; source: string } {
  return lines.map((l) => ({ value: of(l), source: l.source })).reduce((a, b) => (b.value > a.value ? b : a));
}

/**
 * Derives the inputs in `wanted` from bench lines. c_proc(r) = fixed + perMessage ÷ r: with one line the fixed
 * part is `procFixedUs` (a flag, or the document's) and the line gives the slope; with two or more, the line
 * through the runs with the smallest and the largest r gives both (as §2 fitted it). Per-message and per-byte
 * figures take the largest over the lines. g comes from the line's scale_out rows (npm run bench --processors 1,N):
 * the last row's processor CPU per rating relative to the first's.
 */
export function measuredFromBench(lines: Line[], wanted: Set<MeasuredKey>, procFixedUs: number): Measured {
  const values: MeasuredInputs = {};
  const sources: Measured['sources'] = {};
  const notes: string[] = [];
  if (lines.length === 0) return { values, sources, notes };
  const names = lines.map((l) => l.source).join(', ');

  for (const l of lines) {
    const processors = l.line.processors;
    if ((wanted.has('procPerMessageUs') || wanted.has('procFixedUs')) && typeof processors === 'number' && processors > 1) {
      notes.push(
        `${l.source}: processor CPU measured at ${processors} instances (it already holds g(${processors})); c_proc is meant at one`,
      );
    }
  }

  if (wanted.has('procPerMessageUs') || wanted.has('procFixedUs')) {
    const points = lines.map((l) => ({
      source: l.source,
      us: positive(l, 'processor_cpu_s_per_1m', 'c_proc, the processor CPU per rating'),
      r: positive(l, 'ratings_per_mean_rating', 'c_proc(r), the ratings per MeanRating message of that run'),
    }));
    const lo = points.reduce((a, b) => (b.r < a.r ? b : a));
    const hi = points.reduce((a, b) => (b.r > a.r ? b : a));
    if (wanted.has('procFixedUs') && lines.length > 1 && hi.r > lo.r) {
      const slope = (lo.us - hi.us) / (1 / lo.r - 1 / hi.r);
      const fixed = hi.us - slope / hi.r;
      values.procFixedUs = fixed;
      sources.procFixedUs = `line through ${hi.source} (r ${hi.r}, ${hi.us} µs) and ${lo.source} (r ${lo.r}, ${lo.us} µs)`;
      if (wanted.has('procPerMessageUs')) {
        values.procPerMessageUs = slope;
        sources.procPerMessageUs = sources.procFixedUs;
      }
      if (slope <= 0 || fixed < 0)
        notes.push(`c_proc fit: fixed ${fixed.toFixed(2)} µs, per message ${slope.toFixed(2)} µs; not the expected shape (noisy runs?)`);
    } else if (wanted.has('procPerMessageUs')) {
      // One line (or one r): the slope through that point with the given fixed part; the median-r line.
      const p = [...points].sort((a, b) => a.r - b.r)[Math.floor((points.length - 1) / 2)];
      if (p.us <= procFixedUs) {
        throw new Error(
          `${p.source}: processor_cpu_s_per_1m ${p.us} is not above the fixed part ${procFixedUs} µs per rating (--proc-fixed-us), so no per-message part is left`,
        );
      }
      values.procPerMessageUs = (p.us - procFixedUs) * p.r;
      sources.procPerMessageUs = `(${p.us} µs − ${procFixedUs}) × r ${p.r}, ${p.source}`;
    }
  }

  if (wanted.has('scaleOutFactor')) {
    for (const l of lines) {
      const rows = l.line.scale_out;
      if (!Array.isArray(rows) || rows.length < 2) continue;
      const last = rows[rows.length - 1] as Record<string, unknown>;
      const pct = last.processor_cpu_per_rating_pct;
      if (typeof pct !== 'number' || !Number.isFinite(pct)) {
        throw new Error(`${l.source}: scale_out's last row has no processor_cpu_per_rating_pct (needed for g(n))`);
      }
      values.scaleOutFactor = 1 + pct / 100;
      sources.scaleOutFactor = `scale_out of ${l.source}: ${(rows[0] as Record<string, unknown>).processors} → ${last.processors} processors, ${pct >= 0 ? '+' : ''}${pct} %`;
      break;
    }
  }

  if (wanted.has('sinkUsPerMessage')) {
    const why = 'c_sink, the sink CPU per MeanRating message';
    const m = largest(lines, (l) => (field(l, 'sink_cpu_s', why) / positive(l, 'mean_rating_messages', why)) * 1e6);
    values.sinkUsPerMessage = m.value;
    sources.sinkUsPerMessage = `sink_cpu_s ÷ mean_rating_messages, ${lines.length > 1 ? `largest of ${names}: ` : ''}${m.source}`;
  }
  if (wanted.has('producerUsPerRating')) {
    // CPU-seconds per 1M ratings are µs per rating.
    const m = largest(lines, (l) => field(l, 'producer_cpu_s_per_1m', 'c_prod, the rating-producer CPU per rating'));
    values.producerUsPerRating = m.value;
    sources.producerUsPerRating = `producer_cpu_s_per_1m, ${lines.length > 1 ? `largest of ${names}: ` : ''}${m.source}`;
  }
  if (wanted.has('ratingBytes')) {
    const why = 'b_r, the bytes per rating on the broker';
    const m = largest(lines, (l) => (field(l, 'ratings_topic_mb', why) * 1e6) / positive(l, 'ratings', why));
    values.ratingBytes = m.value;
    sources.ratingBytes = `ratings_topic_mb ÷ ratings, ${lines.length > 1 ? `largest of ${names}: ` : ''}${m.source}`;
  }
  if (wanted.has('meanRatingBytes')) {
    const why = 'b_m, the bytes per MeanRating message on the broker';
    const m = largest(lines, (l) => (field(l, 'mean_ratings_topic_mb', why) * 1e6) / positive(l, 'mean_rating_messages', why));
    values.meanRatingBytes = m.value;
    sources.meanRatingBytes = `mean_ratings_topic_mb ÷ mean_rating_messages, ${lines.length > 1 ? `largest of ${names}: ` : ''}${m.source}`;
  }
  return { values, sources, notes };
}
