// docs/CAPACITY.md's arithmetic (§3–§7, §10): from the measured per-instance figures and the chosen targets to
// partitions, instances, brokers and disk. Pure: no I/O; bench.ts turns bench JSON lines into the measured inputs.

/** What the model needs. Units are in the names; CPU figures are per instance at one instance unless said. */
export interface CapacityInputs {
  ratingsPerDay: number;
  /** The peak hour's rate ÷ the day's average. */
  peakFactor: number;
  /** Catalogue size M. */
  movies: number;
  /** Ratings per MeanRating message; the first is the sizing case, the others are shown next to it. */
  ratingsPerMeanRating: number[];
  /** c_proc(r) = procFixedUs + procPerMessageUs ÷ r: processor CPU µs per rating at one instance. */
  procFixedUs: number;
  procPerMessageUs: number;
  /** g(n): processor CPU per rating at n instances ÷ at one. */
  scaleOutFactor: number;
  sinkUsPerMessage: number;
  producerUsPerRating: number;
  /** Bytes per record on the broker, one copy: ratings topic, mean-ratings topic. */
  ratingBytes: number;
  meanRatingBytes: number;
  /** Restore time per changelog record read. */
  restoreUsPerRecord: number;
  restoreTargetS: number;
  /** Peak RSS per instance: a base and a slope per 1k movies it holds. */
  procRssMb: number;
  procRssMbPer1kMovies: number;
  sinkRssMb: number;
  sinkRssMbPer1kMovies: number;
  /** Target CPU utilisation at the peak (the rest drains a backlog), CPUs one instance uses, spares per service. */
  targetCpu: number;
  vcpuPerInstance: number;
  spare: number;
  /** P ≥ the instances of the larger consumer service × this (room to add instances without new topics). */
  growth: number;
  /** A fixed partition count instead of the computed one. */
  partitions?: number;
  /** The compacted topics' segment.ms planned, and today's (shown for comparison). */
  segmentMs: number;
  currentSegmentMs: number;
  /** COALESCE_MAX_MS: one transaction per partition per window. */
  coalesceMs: number;
  snapshotIntervalMs: number;
  sessionTimeoutMs: number;
  replicationFactor: number;
  /** Each broker's network link, to say how far the peak is from it. */
  linkMbit: number;
  retentionDays: number[];
}

/** The document's inputs (§2 "Value used" and the chosen targets). */
export const DOCUMENT_INPUTS: CapacityInputs = {
  ratingsPerDay: 1e9,
  peakFactor: 10,
  movies: 100_000,
  ratingsPerMeanRating: [1, 3, 6.1],
  procFixedUs: 1.68,
  procPerMessageUs: 17.5,
  scaleOutFactor: 1.385,
  sinkUsPerMessage: 24,
  producerUsPerRating: 3.5,
  ratingBytes: 43,
  meanRatingBytes: 42,
  restoreUsPerRecord: 12,
  restoreTargetS: 5,
  procRssMb: 207,
  procRssMbPer1kMovies: 1.3,
  sinkRssMb: 123,
  sinkRssMbPer1kMovies: 1.5,
  targetCpu: 0.5,
  vcpuPerInstance: 1,
  spare: 1,
  growth: 2,
  segmentMs: 60_000,
  currentSegmentMs: 600_000,
  coalesceMs: 100,
  snapshotIntervalMs: 5000,
  sessionTimeoutMs: 10_000,
  replicationFactor: 3,
  linkMbit: 1000,
  retentionDays: [1, 7, 30],
};

/** One column of §5: the figures that move with r. */
export interface PerR {
  r: number;
  meanRatingsPerS: number;
  procUsPerRating: number;
  procCpu: number;
  procInstances: number;
  sinkCpu: number;
  sinkInstances: number;
  meanRatingsMbPerS: number;
  /** Changelog records one partition restores, worst case, and the time, with the planned and today's segment.ms. */
  restoreRecords: number;
  restoreS: number;
  restoreRecordsCurrentSegment: number;
  restoreSCurrentSegment: number;
}

export interface CapacityResult {
  averagePerS: number;
  peakPerS: number;
  peakHourRatings: number;
  partitions: number;
  partitionNeeds: { growth: number; procRate: number; sinkRate: number; restore: number; restoreCurrentSegment: number };
  perPartitionPerS: number;
  ratingsPerWindow: number;
  /** The uniform-popularity bound on r at the coalescing window and at 1 s. */
  rBoundAtWindow: number;
  rBoundAt1s: number;
  /** Index 0 is the sizing case. */
  perR: PerR[];
  producerCpu: number;
  producerInstances: number;
  /** Ratings/s one processor instance, MeanRatings/s one sink instance handles at full CPU (sizing r). */
  procRatingsPerSPerInstance: number;
  sinkMessagesPerSPerInstance: number;
  /** Ratings/s all processors handle at one per partition. */
  procRatingsPerSAtPartitions: number;
  ratingsMbPerS: number;
  producedMbPerS: number;
  clusterWrittenMbPerS: number;
  clusterReadMbPerS: number;
  brokers: number;
  brokerInMbPerS: number;
  brokerOutMbPerS: number;
  brokerMbitPerS: number;
  /** The peak × this reaches a broker's link. */
  linkHeadroom: number;
  ratingsGbPerDay: number;
  retention: { days: number; tb: number }[];
  ratingsTbPerYear: number;
  meanRatingsGbWrittenPerDay: number;
  /** Compacted mean-ratings over the cluster: clean part, and the active segments with the planned and today's segment.ms. */
  meanRatingsCompactedMb: number;
  meanRatingsActiveGb: number;
  meanRatingsActiveGbCurrentSegment: number;
  restartRecords: number;
  restartS: number;
  transactionsPerS: number;
  sessionTimeoutRatings: number;
  procRssMb: number;
  sinkRssMb: number;
  /** The g at which the sizing case needs one processor more. */
  scaleOutFactorForOneMore: number;
}

/** Instances for a CPU load: enough at the target utilisation, plus the spares. */
export function instancesFor(cpu: number, i: Pick<CapacityInputs, 'targetCpu' | 'vcpuPerInstance' | 'spare'>): number {
  return Math.max(1, Math.ceil(cpu / (i.targetCpu * i.vcpuPerInstance) - 1e-9)) + i.spare;
}

/** Expected n ÷ distinct movies among n uniform draws from `movies`: the most ratings one MeanRating can fold. */
export function rBound(draws: number, movies: number): number {
  return draws / (movies * (1 - Math.exp(-draws / movies)));
}

/**
 * The partition count chosen for a need: the smallest of 1, 2, 3, 4, 6, 12 and then multiples of 12 that is at
 * least the need (such counts split evenly among many instance counts).
 */
export function evenPartitions(need: number): number {
  const n = Math.max(1, Math.ceil(need - 1e-9));
  const small = [1, 2, 3, 4, 6, 12].find((p) => p >= n);
  return small ?? Math.ceil(n / 12) * 12;
}

export function capacity(i: CapacityInputs): CapacityResult {
  if (i.ratingsPerMeanRating.length === 0) throw new Error('at least one r (ratings per MeanRating) is needed');
  const averagePerS = i.ratingsPerDay / 86_400;
  const peakPerS = averagePerS * i.peakFactor;
  const us = 1e-6;
  const instances = (cpu: number) => instancesFor(cpu, i);
  const cProc = (r: number) => (i.procFixedUs + i.procPerMessageUs / r) * i.scaleOutFactor;
  const columns = i.ratingsPerMeanRating.map((r) => {
    const meanRatingsPerS = peakPerS / r;
    const procCpu = peakPerS * cProc(r) * us;
    const sinkCpu = meanRatingsPerS * i.sinkUsPerMessage * us;
    return {
      r,
      meanRatingsPerS,
      procUsPerRating: cProc(r),
      procCpu,
      procInstances: instances(procCpu),
      sinkCpu,
      sinkInstances: instances(sinkCpu),
    };
  });
  const sizing = columns[0];

  // One partition's rate must fit what one instance may spend (target utilisation of one main thread).
  const perInstanceCpu = i.targetCpu * i.vcpuPerInstance;
  const restoreNeed = (segmentMs: number) =>
    ((2 * i.movies + (peakPerS / sizing.r) * (segmentMs / 1000)) * i.restoreUsPerRecord * us) / i.restoreTargetS;
  const partitionNeeds = {
    growth: Math.max(sizing.procInstances, sizing.sinkInstances) * i.growth,
    procRate: peakPerS / (perInstanceCpu / (sizing.procUsPerRating * us)),
    sinkRate: sizing.meanRatingsPerS / (perInstanceCpu / (i.sinkUsPerMessage * us)),
    restore: restoreNeed(i.segmentMs),
    restoreCurrentSegment: restoreNeed(i.currentSegmentMs),
  };
  const partitions =
    i.partitions ??
    evenPartitions(Math.max(partitionNeeds.growth, partitionNeeds.procRate, partitionNeeds.sinkRate, partitionNeeds.restore));
  const perPartitionPerS = peakPerS / partitions;
  const moviesPerPartition = i.movies / partitions;
  const restoreRecords = (r: number, segmentMs: number) => (2 * i.movies) / partitions + (peakPerS / r / partitions) * (segmentMs / 1000);

  const perR: PerR[] = columns.map((c) => {
    const records = restoreRecords(c.r, i.segmentMs);
    const recordsCurrent = restoreRecords(c.r, i.currentSegmentMs);
    return {
      ...c,
      meanRatingsMbPerS: (c.meanRatingsPerS * i.meanRatingBytes) / 1e6,
      restoreRecords: records,
      restoreS: records * i.restoreUsPerRecord * us,
      restoreRecordsCurrentSegment: recordsCurrent,
      restoreSCurrentSegment: recordsCurrent * i.restoreUsPerRecord * us,
    };
  });

  const producerCpu = peakPerS * i.producerUsPerRating * us;
  const ratingsMbPerS = (peakPerS * i.ratingBytes) / 1e6;
  const producedMbPerS = ratingsMbPerS + perR[0].meanRatingsMbPerS;
  const rf = i.replicationFactor;
  const clusterWrittenMbPerS = producedMbPerS * rf;
  // Consumers read each topic once (the processors ratings, the sinks mean-ratings); followers each copy.
  const clusterReadMbPerS = producedMbPerS + producedMbPerS * (rf - 1);
  const brokers = rf;
  const brokerInMbPerS = clusterWrittenMbPerS / brokers;
  const brokerOutMbPerS = clusterReadMbPerS / brokers;
  const brokerMbitPerS = Math.max(brokerInMbPerS, brokerOutMbPerS) * 8;
  const ratingsGbPerDay = (i.ratingsPerDay * i.ratingBytes * rf) / 1e9;
  const restartRecords = perPartitionPerS * (i.snapshotIntervalMs / 1000);
  const procRatingsPerSPerInstance = 1 / (sizing.procUsPerRating * us);
  // A processor more from the g at which the CPU passes what the sizing's instances carry at the target.
  const carried = (sizing.procInstances - i.spare) * perInstanceCpu;
  return {
    averagePerS,
    peakPerS,
    peakHourRatings: peakPerS * 3600,
    partitions,
    partitionNeeds,
    perPartitionPerS,
    ratingsPerWindow: perPartitionPerS * (i.coalesceMs / 1000),
    rBoundAtWindow: rBound(perPartitionPerS * (i.coalesceMs / 1000), moviesPerPartition),
    rBoundAt1s: rBound(perPartitionPerS, moviesPerPartition),
    perR,
    producerCpu,
    producerInstances: instances(producerCpu),
    procRatingsPerSPerInstance,
    sinkMessagesPerSPerInstance: 1 / (i.sinkUsPerMessage * us),
    procRatingsPerSAtPartitions: procRatingsPerSPerInstance * partitions,
    ratingsMbPerS,
    producedMbPerS,
    clusterWrittenMbPerS,
    clusterReadMbPerS,
    brokers,
    brokerInMbPerS,
    brokerOutMbPerS,
    brokerMbitPerS,
    linkHeadroom: i.linkMbit / brokerMbitPerS,
    ratingsGbPerDay,
    retention: i.retentionDays.map((days) => ({ days, tb: (ratingsGbPerDay * days) / 1000 })),
    ratingsTbPerYear: (ratingsGbPerDay * 365) / 1000,
    meanRatingsGbWrittenPerDay: (i.ratingsPerDay / sizing.r) * i.meanRatingBytes * 1e-9,
    meanRatingsCompactedMb: (rf * 2 * i.movies * i.meanRatingBytes) / 1e6,
    meanRatingsActiveGb: (rf * (peakPerS / sizing.r) * (i.segmentMs / 1000) * i.meanRatingBytes) / 1e9,
    meanRatingsActiveGbCurrentSegment: (rf * (peakPerS / sizing.r) * (i.currentSegmentMs / 1000) * i.meanRatingBytes) / 1e9,
    restartRecords,
    restartS: restartRecords * i.restoreUsPerRecord * us,
    transactionsPerS: partitions * (1000 / i.coalesceMs),
    sessionTimeoutRatings: perPartitionPerS * (i.sessionTimeoutMs / 1000),
    // With one instance down: the movies spread over the others.
    procRssMb: i.procRssMb + (i.procRssMbPer1kMovies * i.movies) / 1000 / Math.max(1, sizing.procInstances - 1),
    sinkRssMb: i.sinkRssMb + (i.sinkRssMbPer1kMovies * i.movies) / 1000 / Math.max(1, sizing.sinkInstances - 1),
    scaleOutFactorForOneMore: carried / (peakPerS * (i.procFixedUs + i.procPerMessageUs / sizing.r) * us),
  };
}
