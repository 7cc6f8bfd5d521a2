import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KafkaClient, latestRun, RunRef } from '@movie-stream/messaging';
import { MetaPoint, MetaSeries, readMetaReports, SeriesSummary, UndecodableMeta } from '@movie-stream/monitoring';
import { renderLineChartSvg } from './svg-chart';

/** "10m", "90s", "2h", "1d" or plain milliseconds → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration (e.g. 90s, 10m, 2h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] as number;
  return Math.round(Number(m[1]) * unit);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The table `npm run report` prints: one row per service, topic and action. */
export function formatTable(rows: SeriesSummary[]): string {
  const head = ['service', 'action', 'topic', 'instances', 'messages', 'seconds', 'msgs/s mean', 'msgs/s peak'];
  const body = rows.map((r) => [
    r.service,
    r.action,
    r.topic,
    String(r.instances),
    fmt(r.messages),
    String((r.lastSecond - r.firstSecond) / 1000 + 1),
    fmt(r.meanPerSecond),
    fmt(r.peakPerSecond),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function seriesOf(points: MetaPoint[]): MetaSeries {
  // Everything read is kept: a report covers what was asked for, however old.
  const s = new MetaSeries(Number.MAX_SAFE_INTEGER);
  for (const p of points) s.add(p);
  return s;
}

export interface ReportResult {
  summary: SeriesSummary[];
  table: string;
  svgFile?: string;
  jsonFile?: string;
  reports: number;
  /** Messages that could not be decoded (skipped, each passed to `onUndecodable`). */
  undecodable: number;
}

/** Reads `<prefix>.published/.consumed` since `sinceMs`, writes throughput.svg and throughput.json into outDir. */
export async function writeReport(opts: {
  kafka: KafkaClient;
  prefix: string;
  sinceMs: number;
  outDir: string;
  title?: string;
  onUndecodable?: (u: UndecodableMeta) => void;
}): Promise<ReportResult> {
  let undecodable = 0;
  const points = await readMetaReports(opts.kafka, opts.prefix, opts.sinceMs, undefined, (u) => {
    undecodable++;
    opts.onUndecodable?.(u);
  });
  const series = seriesOf(points);
  const summary = series.summary();
  const table = formatTable(summary);
  if (points.length === 0) return { summary, table, reports: 0, undecodable };
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  // A one-second run would otherwise give one point per line and nothing to see.
  const lines = series.rates({ by: 'service', padLoneSecond: true });
  const svgFile = join(outDir, 'throughput.svg');
  writeFileSync(svgFile, await renderLineChartSvg({ title: opts.title ?? `Throughput from ${opts.prefix}.published / .consumed`, lines }));
  const jsonFile = join(outDir, 'throughput.json');
  writeFileSync(jsonFile, JSON.stringify({ prefix: opts.prefix, sinceMs: opts.sinceMs, summary, lines }, null, 1) + '\n');
  return { summary, table, svgFile, jsonFile, reports: points.length, undecodable };
}

export interface ReportTarget {
  prefix: string;
  /** "all" or a duration (parseDuration). */
  since: string;
  /** The run found when no prefix was given. */
  run?: RunRef;
}

/**
 * What `npm run report` reads. A prefix given (flag or TOPIC_META_PREFIX): that one, the last 10 minutes
 * by default. None: the newest `npm start` run's meta topics (run-<id>.meta.*), all of it; with no run
 * on the cluster, the services' default prefix `meta`.
 */
export async function resolveReportTarget(kafka: KafkaClient, given: { prefix?: string; since?: string }): Promise<ReportTarget> {
  if (given.prefix) return { prefix: given.prefix, since: given.since ?? '10m' };
  const run = await latestRun(kafka);
  if (run) return { prefix: run.metaPrefix, since: given.since ?? 'all', run };
  return { prefix: 'meta', since: given.since ?? '10m' };
}
