// `npm run capacity` arguments: every model input a flag, with docs/CAPACITY.md's value as default.
import { parseArgs } from 'node:util';
import { DOCUMENT_INPUTS, type CapacityInputs } from './capacity';
import type { MeasuredKey } from './bench-line';

type Spec = { key: keyof CapacityInputs; flag: string; help: string; list?: boolean; measured?: boolean; integer?: boolean };

/** Flag, input and help; `measured` ones come from --bench when the flag is not given. */
export const FLAGS: Spec[] = [
  { key: 'ratingsPerDay', flag: 'ratings-per-day', help: 'ratings a day' },
  { key: 'peakFactor', flag: 'peak-factor', help: "peak hour's rate ÷ the day's average" },
  { key: 'movies', flag: 'movies', help: 'catalogue size M' },
  { key: 'ratingsPerMeanRating', flag: 'r', help: 'ratings per MeanRating message; the first sizes, the others are shown', list: true },
  { key: 'procFixedUs', flag: 'proc-fixed-us', help: 'c_proc(r) = fixed + per-message ÷ r: the fixed µs per rating', measured: true },
  { key: 'procPerMessageUs', flag: 'proc-per-message-us', help: "c_proc's µs per MeanRating message", measured: true },
  { key: 'scaleOutFactor', flag: 'scale-out-factor', help: 'g(n): processor CPU per rating at n instances ÷ at one', measured: true },
  { key: 'sinkUsPerMessage', flag: 'sink-us-per-message', help: 'c_sink: sink CPU µs per MeanRating message', measured: true },
  { key: 'producerUsPerRating', flag: 'producer-us-per-rating', help: 'c_prod: rating-producer CPU µs per rating', measured: true },
  { key: 'ratingBytes', flag: 'rating-bytes', help: 'b_r: bytes per rating on the broker, one copy', measured: true },
  { key: 'meanRatingBytes', flag: 'mean-rating-bytes', help: 'b_m: bytes per MeanRating message, one copy', measured: true },
  { key: 'restoreUsPerRecord', flag: 'restore-us-per-record', help: 't_rec: restore µs per changelog record (npm run bench:restore)' },
  { key: 'restoreTargetS', flag: 'restore-target-s', help: 'restore target per partition, s' },
  { key: 'procRssMb', flag: 'proc-rss-mb', help: 'processor peak RSS base, MB' },
  { key: 'procRssMbPer1kMovies', flag: 'proc-rss-mb-per-1k-movies', help: 'processor RSS per 1k movies held, MB' },
  { key: 'sinkRssMb', flag: 'sink-rss-mb', help: 'sink peak RSS base, MB' },
  { key: 'sinkRssMbPer1kMovies', flag: 'sink-rss-mb-per-1k-movies', help: 'sink RSS per 1k movies held, MB' },
  { key: 'targetCpu', flag: 'target-cpu', help: 'target CPU utilisation at the peak (0–1]' },
  { key: 'vcpuPerInstance', flag: 'vcpu-per-instance', help: 'CPUs one instance uses' },
  { key: 'spare', flag: 'spare', help: 'spare instances per service', integer: true },
  { key: 'growth', flag: 'growth', help: 'partitions ≥ instances × this' },
  { key: 'partitions', flag: 'partitions', help: 'a fixed partition count (default: computed)', integer: true },
  { key: 'segmentMs', flag: 'segment-ms', help: "compacted topics' segment.ms, planned" },
  { key: 'currentSegmentMs', flag: 'current-segment-ms', help: "compacted topics' segment.ms today (for comparison)" },
  { key: 'coalesceMs', flag: 'coalesce-ms', help: 'COALESCE_MAX_MS' },
  { key: 'snapshotIntervalMs', flag: 'snapshot-interval-ms', help: 'SNAPSHOT_INTERVAL_MS' },
  { key: 'sessionTimeoutMs', flag: 'session-timeout-ms', help: 'SESSION_TIMEOUT_MS' },
  { key: 'replicationFactor', flag: 'replication-factor', help: 'replication factor (and brokers)', integer: true },
  { key: 'linkMbit', flag: 'link-mbit', help: "a broker's network link, Mbit/s" },
  { key: 'retentionDays', flag: 'retention-days', help: 'retentions to show, days', list: true },
];

export const USAGE = `npm run capacity -- [--bench FILE|-]… [options]
  --bench FILE                 a file holding npm run bench's output (its last JSON line is read), - for
                               stdin; repeatable: two or more runs at different r fit c_proc(r)'s both parts
${FLAGS.map((f) => {
  const d = DOCUMENT_INPUTS[f.key];
  const def = d === undefined ? '' : ` (default ${Array.isArray(d) ? d.join(',') : d}${f.measured ? '; or from --bench' : ''})`;
  return `  --${f.flag.padEnd(26)} ${f.help}${def}`;
}).join('\n')}
  -h, --help                   this text
Inputs marked "or from --bench" are read off the bench lines when the flag is not given; without --bench, the
document's values. Prints the sizing as markdown tables, then one JSON line.`;

export interface CapacityArgs {
  help: boolean;
  bench: string[];
  inputs: CapacityInputs;
  /** Measured inputs no flag gave: --bench supplies them (or the document's values stay). */
  fromBench: Set<MeasuredKey>;
}

function number(flag: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new Error(`--${flag} ${text}: not a number`);
  if (v <= 0 && flag !== 'spare') throw new Error(`--${flag} ${text}: must be above 0`);
  if (v < 0) throw new Error(`--${flag} ${text}: must be 0 or more`);
  if (integer && !Number.isInteger(v)) throw new Error(`--${flag} ${text}: must be a whole number`);
  return v;
}

export function parseCapacityArgs(args: string[]): CapacityArgs {
  const { values } = parseArgs({
    args,
    options: {
      bench: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(FLAGS.map((f) => [f.flag, { type: 'string' as const }])),
    },
    strict: true,
    allowPositionals: false,
  });
  const inputs: CapacityInputs = { ...DOCUMENT_INPUTS };
  const fromBench = new Set<MeasuredKey>();
  const set = inputs as unknown as Record<string, unknown>;
  for (const f of FLAGS) {
    const text = (values as Record<string, string | undefined>)[f.flag];
    if (text === undefined) {
      if (f.measured) fromBench.add(f.key as MeasuredKey);
      continue;
    }
    set[f.key] = f.list ? text.split(',').map((t) => number(f.flag, t, !!f.integer)) : number(f.flag, text, !!f.integer);
  }
  if (inputs.targetCpu > 1) throw new Error(`--target-cpu ${inputs.targetCpu}: a share of an instance's CPU, at most 1`);
  return { help: !!values.help, bench: (values.bench as string[] | undefined) ?? [], inputs, fromBench };
}
