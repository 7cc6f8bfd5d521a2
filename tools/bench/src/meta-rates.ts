// Processor and sink rates from the run's meta topics, read with monitoring's reader and totalled with
// its series summary. The rate's span comes from the reports' own windows (100 ms in the bench), finer
// than the summary's whole seconds.
import type { KafkaClient } from '@movie-stream/messaging';
import { type Action, MetaSeries, readMetaReports } from '@movie-stream/monitoring';

export interface MetaRate {
  count: number;
  /** count ÷ (end of the last window − start of the first); NaN when there is none. */
  perSec: number;
}

export type MetaRates = (service: string, topic: string, action?: Action) => MetaRate;

export async function metaRates(kafka: KafkaClient, prefix: string): Promise<MetaRates> {
  const points = await readMetaReports(kafka, prefix, 0, 60_000);
  const series = new MetaSeries(Infinity); // a bench run may last longer than the monitor's retention
  for (const p of points) series.add(p);
  const totals = series.summary();
  return (service, topic, action = 'consumed') => {
    const total = totals.find((s) => s.service === service && s.topic === topic && s.action === action);
    if (!total) return { count: 0, perSec: NaN };
    let first = Infinity;
    let last = 0;
    for (const p of points) {
      if (p.service !== service || p.topic !== topic || p.action !== action || p.count <= 0) continue;
      first = Math.min(first, p.windowStartMs);
      last = Math.max(last, p.windowEndMs);
    }
    // The summary spreads windows over seconds in fractions: the total is a whole count again.
    const count = Math.round(total.messages);
    return { count, perSec: count / ((last - first) / 1000) };
  };
}
