// The sizing as markdown, in docs/CAPACITY.md's terms (§1, §3, §5, §7), and the JSON line.
import type { CapacityInputs, CapacityResult } from './capacity';

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fix = (x: number, d: number) => x.toFixed(d);
const big = (x: number) =>
  x >= 1e9 ? `${Number(fix(x / 1e9, 2))}B` : x >= 1e6 ? `${fix(x / 1e6, 1)}M` : x >= 1e4 ? `${int(x / 1000)}k` : int(x);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

export function sizingMarkdown(i: CapacityInputs, c: CapacityResult): string {
  const s = c.perR[0];
  const rs = (f: (p: (typeof c.perR)[number]) => string) => c.perR.map((p) => `${f(p)} (r = ${p.r})`).join(', ');
  const answer = [
    row(['', `${big(i.ratingsPerDay)} ratings/day, ${i.peakFactor}× peak hour`]),
    row(['---', '---']),
    row([
      'Peak rate',
      `**${int(c.peakPerS)} ratings/s** (average ${int(c.averagePerS)}/s; ${fix(c.peakHourRatings / 1e6, 1)}M in the peak hour)`,
    ]),
    row([
      'Partitions',
      `**${c.partitions}** (needs: growth ${fix(c.partitionNeeds.growth, 0)}, processor rate ${fix(c.partitionNeeds.procRate, 2)}, sink rate ${fix(c.partitionNeeds.sinkRate, 2)}, restore ${fix(c.partitionNeeds.restore, 2)}; ${fix(c.partitionNeeds.restoreCurrentSegment, 1)} with segment.ms ${i.currentSegmentMs})`,
    ]),
    row([
      `mean-rating-processor instances (${i.vcpuPerInstance} vCPU each)`,
      `**${s.procInstances}** (${fix(s.procCpu, 2)} CPU at the peak, r = ${s.r})`,
    ]),
    row([`movie-data-sink instances (${i.vcpuPerInstance} vCPU each)`, `**${s.sinkInstances}** (${fix(s.sinkCpu, 2)} CPU)`]),
    row(['rating-producer instances', `**${c.producerInstances}** (${fix(c.producerCpu, 2)} CPU)`]),
    row([
      'Brokers',
      `**${c.brokers}** (replication factor ${i.replicationFactor}), each ≈ ${fix(c.brokerInMbPerS, 1)} MB/s in and ${fix(c.brokerOutMbPerS, 1)} MB/s out (${int(c.brokerMbitPerS)} Mbit/s, the link at ${fix(c.linkHeadroom, 1)}× the peak)`,
    ]),
    row([
      'Disk for `ratings`',
      `**${int(c.ratingsGbPerDay)} GB per day** over the cluster; ${c.retention.map((x) => `${x.days} d ${fix(x.tb, 2)} TB`).join(', ')}; kept forever ${fix(c.ratingsTbPerYear, 1)} TB a year`,
    ]),
    row([
      'Compacted `mean-ratings`',
      `${int(c.meanRatingsCompactedMb)} MB + ${fix(c.meanRatingsActiveGb, 2)} GB active segments (segment.ms ${i.segmentMs}; ${fix(c.meanRatingsActiveGbCurrentSegment, 2)} GB with ${i.currentSegmentMs})`,
    ]),
    row(['Processor Kafka transactions', `≤ ${int(c.transactionsPerS)}/s (${c.partitions} partitions, COALESCE_MAX_MS=${i.coalesceMs})`]),
    row(['Memory per instance (one down)', `processor ≈ ${int(c.procRssMb)} MB, sink ≈ ${int(c.sinkRssMb)} MB`]),
    row([
      'Restore of a moved partition',
      `${fix(s.restoreS, 1)} s (${big(s.restoreRecords)} records, segment.ms ${i.segmentMs}); ${fix(s.restoreSCurrentSegment, 1)} s with ${i.currentSegmentMs}; restart on its own snapshot ${fix(c.restartS, 2)} s`,
    ]),
  ];
  const arithmetic = [
    row(['Quantity', 'Result']),
    row(['---', '---']),
    row(['Rate per partition', `${int(c.perPartitionPerS)} ratings/s`]),
    row([`Ratings per partition per ${i.coalesceMs} ms window`, int(c.ratingsPerWindow)]),
    row(['Bound on r at the peak (uniform popularity)', `${fix(c.rBoundAtWindow, 2)} at the window, ${fix(c.rBoundAt1s, 2)} at 1 s`]),
    row(['MeanRating messages/s', rs((p) => int(p.meanRatingsPerS))]),
    row([`Processor CPU per rating at g = ${i.scaleOutFactor}`, rs((p) => `${fix(p.procUsPerRating, 1)} µs`)]),
    row(['Processor CPU at the peak', rs((p) => fix(p.procCpu, 2))]),
    row(['Processor instances', rs((p) => String(p.procInstances))]),
    row(['Sink CPU at the peak', rs((p) => fix(p.sinkCpu, 2))]),
    row(['Sink instances', rs((p) => String(p.sinkInstances))]),
    row([
      'One instance at full CPU',
      `processor ${big(c.procRatingsPerSPerInstance)} ratings/s, sink ${big(c.sinkMessagesPerSPerInstance)} MeanRatings/s; ${c.partitions} processors ${big(c.procRatingsPerSAtPartitions)} ratings/s`,
    ]),
    row(['`ratings` bytes in (leader)', `${fix(c.ratingsMbPerS, 2)} MB/s`]),
    row(['`mean-ratings` bytes in (leader)', rs((p) => `${fix(p.meanRatingsMbPerS, 2)} MB/s`)]),
    row(['Written / read over the cluster', `${fix(c.clusterWrittenMbPerS, 1)} / ${fix(c.clusterReadMbPerS, 1)} MB/s`]),
    row(['`mean-ratings` written per day (compacted away)', `${int(c.meanRatingsGbWrittenPerDay)} GB per copy`]),
    row([
      'Restore of one partition, fresh instance',
      rs((p) => `${fix(p.restoreS, 1)} s / ${fix(p.restoreSCurrentSegment, 1)} s`) + ` (segment.ms ${i.segmentMs} / ${i.currentSegmentMs})`,
    ]),
    row([
      "A crashed instance's partitions wait",
      `${big(c.sessionTimeoutRatings)} ratings per partition (SESSION_TIMEOUT_MS=${i.sessionTimeoutMs})`,
    ]),
    row(['g at which one more processor is needed', fix(c.scaleOutFactorForOneMore, 3)]),
  ];
  return [answer.join('\n'), arithmetic.join('\n')].join('\n\n');
}

export function inputsMarkdown(i: CapacityInputs, sources: Partial<Record<keyof CapacityInputs, string>>): string {
  const lines = [row(['Input', 'Value', 'From']), row(['---', '---', '---'])];
  for (const [key, value] of Object.entries(i)) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value.join(', ') : typeof value === 'number' ? String(Number(value.toPrecision(4))) : String(value);
    lines.push(row([key, v, sources[key as keyof CapacityInputs] ?? 'flag or document default']));
  }
  return lines.join('\n');
}
