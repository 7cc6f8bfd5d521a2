import { capacity, DOCUMENT_INPUTS, evenPartitions, instancesFor, rBound } from './capacity';

describe('capacity: docs/CAPACITY.md §3–§7 with the document inputs', () => {
  const c = capacity(DOCUMENT_INPUTS);
  const [r1, r3, r61] = c.perR;

  it('gives the document rates', () => {
    expect(c.averagePerS).toBeCloseTo(11_574.07, 1);
    expect(c.peakPerS).toBeCloseTo(115_740.7, 0);
    expect(c.peakHourRatings / 1e6).toBeCloseTo(416.7, 1);
    expect(c.perPartitionPerS).toBeCloseTo(4822.5, 0);
    expect(Math.round(c.ratingsPerWindow)).toBe(482);
    expect(c.rBoundAtWindow).toBeCloseTo(1.06, 2);
    expect(c.rBoundAt1s).toBeCloseTo(1.69, 2);
  });

  it('gives the document instances per r (§3, §5)', () => {
    expect(c.perR.map((p) => Math.round(p.meanRatingsPerS))).toEqual([115_741, 38_580, 18_974]);
    expect(c.perR.map((p) => Number(p.procUsPerRating.toFixed(1)))).toEqual([26.6, 10.4, 6.3]);
    expect(c.perR.map((p) => Number(p.procCpu.toFixed(2)))).toEqual([3.07, 1.2, 0.73]);
    expect(c.perR.map((p) => p.procInstances)).toEqual([8, 4, 3]);
    expect(c.perR.map((p) => Number(p.sinkCpu.toFixed(2)))).toEqual([2.78, 0.93, 0.46]);
    expect(c.perR.map((p) => p.sinkInstances)).toEqual([7, 3, 2]);
    expect(c.producerCpu).toBeCloseTo(0.41, 2);
    expect(c.producerInstances).toBe(2);
    expect(c.procRatingsPerSPerInstance / 1000).toBeCloseTo(37.6, 1);
    expect(c.sinkMessagesPerSPerInstance / 1000).toBeCloseTo(41.7, 1);
    expect(c.procRatingsPerSAtPartitions / 1000).toBeCloseTo(903, 0);
    expect(c.scaleOutFactorForOneMore).toBeCloseTo(1.577, 3);
  });

  it('gives the document partitions and their needs (§4)', () => {
    expect(c.partitions).toBe(24);
    expect(c.partitionNeeds.growth).toBe(16);
    expect(Math.ceil(c.partitionNeeds.procRate)).toBe(7);
    expect(Math.ceil(c.partitionNeeds.sinkRate)).toBe(6);
    expect(Math.ceil(c.partitionNeeds.restore)).toBe(18);
    expect(Math.ceil(c.partitionNeeds.restoreCurrentSegment)).toBe(168);
  });

  it('gives the document bytes, brokers and disk (§6, §7)', () => {
    expect(c.ratingsMbPerS).toBeCloseTo(4.98, 2);
    expect(r1.meanRatingsMbPerS).toBeCloseTo(4.86, 2);
    expect(r61.meanRatingsMbPerS).toBeCloseTo(0.8, 2);
    expect(c.clusterWrittenMbPerS).toBeCloseTo(29.5, 1);
    expect(c.clusterReadMbPerS).toBeCloseTo(29.5, 1);
    expect(c.brokers).toBe(3);
    expect(c.brokerInMbPerS).toBeCloseTo(9.84, 2);
    expect(Math.round(c.brokerMbitPerS)).toBe(79);
    expect(c.linkHeadroom).toBeCloseTo(12.7, 1);
    expect(c.ratingsGbPerDay).toBeCloseTo(129, 6);
    expect(c.retention.map((x) => Number(x.tb.toFixed(2)))).toEqual([0.13, 0.9, 3.87]);
    expect(c.ratingsTbPerYear).toBeCloseTo(47.1, 1);
    expect(c.meanRatingsGbWrittenPerDay).toBeCloseTo(42, 6);
    expect(c.meanRatingsCompactedMb).toBeCloseTo(25.2, 6);
    expect(c.meanRatingsActiveGb).toBeCloseTo(0.875, 3);
    expect(c.meanRatingsActiveGbCurrentSegment).toBeCloseTo(8.75, 2);
  });

  it('gives the document restore, transactions and memory (§3, §8)', () => {
    expect(r1.restoreRecordsCurrentSegment / 1e6).toBeCloseTo(2.9, 1);
    expect(Math.round(r1.restoreRecords / 1000)).toBe(298);
    expect(Math.round(r1.restoreSCurrentSegment)).toBe(35);
    expect(r1.restoreS).toBeCloseTo(3.6, 1);
    expect(r61.restoreSCurrentSegment).toBeCloseTo(5.8, 1);
    expect(capacity({ ...DOCUMENT_INPUTS, restoreUsPerRecord: 33, partitions: 24 }).perR[0].restoreS).toBeCloseTo(9.8, 1);
    // Left to choose, the partitions grow until a restore fits the 5 s target again.
    expect(capacity({ ...DOCUMENT_INPUTS, restoreUsPerRecord: 33 }).partitions).toBe(48);
    expect(Math.round(c.restartRecords / 1000)).toBe(24);
    expect(c.restartS).toBeCloseTo(0.29, 2);
    expect(c.transactionsPerS).toBe(240);
    expect(Math.round(c.sessionTimeoutRatings / 1000)).toBe(48);
    expect(c.procRssMb).toBeCloseTo(207 + 1.3 * (100 / 7), 6);
    expect(Math.round(c.sinkRssMb)).toBe(148);
    expect(r3.r).toBe(3);
  });
});

describe('capacity: one input moves what depends on it, as the formulas say', () => {
  const base = capacity(DOCUMENT_INPUTS);

  it('twice the ratings a day doubles rates, CPU and bytes, and leaves per-rating figures alone', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, ratingsPerDay: 2e9 });
    expect(c.peakPerS).toBeCloseTo(2 * base.peakPerS, 6);
    expect(c.perR[0].procCpu).toBeCloseTo(2 * base.perR[0].procCpu, 9);
    expect(c.perR[0].procInstances).toBe(instancesFor(2 * base.perR[0].procCpu, DOCUMENT_INPUTS));
    expect(c.ratingsGbPerDay).toBeCloseTo(2 * base.ratingsGbPerDay, 6);
    expect(c.perR[0].procUsPerRating).toBe(base.perR[0].procUsPerRating);
  });

  it('the peak factor moves peak figures, not the daily disk', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, peakFactor: 5 });
    expect(c.peakPerS).toBeCloseTo(base.peakPerS / 2, 6);
    expect(c.ratingsGbPerDay).toBe(base.ratingsGbPerDay);
    expect(c.perR[0].sinkCpu).toBeCloseTo(base.perR[0].sinkCpu / 2, 9);
  });

  it('g scales the processor CPU only; at 1.58 the sizing needs 9 processors (§11)', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, scaleOutFactor: 1.56 });
    expect(c.perR[0].procCpu).toBeCloseTo((base.perR[0].procCpu * 1.56) / 1.385, 9);
    expect(c.perR[0].procCpu).toBeCloseTo(3.46, 2);
    expect(c.perR[0].procInstances).toBe(8);
    expect(capacity({ ...DOCUMENT_INPUTS, scaleOutFactor: 1.58 }).perR[0].procInstances).toBe(9);
    expect(c.perR[0].sinkCpu).toBe(base.perR[0].sinkCpu);
  });

  it('bytes per rating move the ratings bytes and disk, not mean-ratings', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, ratingBytes: 24.7 });
    expect(c.ratingsGbPerDay).toBeCloseTo(74.1, 1);
    expect(c.ratingsMbPerS).toBeCloseTo((base.ratingsMbPerS * 24.7) / 43, 9);
    expect(c.perR[0].meanRatingsMbPerS).toBe(base.perR[0].meanRatingsMbPerS);
  });

  it('replication factor 5 means 5 brokers and 5 copies', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, replicationFactor: 5 });
    expect(c.brokers).toBe(5);
    expect(c.ratingsGbPerDay).toBeCloseTo((base.ratingsGbPerDay * 5) / 3, 6);
    expect(c.clusterWrittenMbPerS).toBeCloseTo((base.clusterWrittenMbPerS * 5) / 3, 9);
  });

  it('a longer segment.ms raises the restore need; a fixed --partitions is taken as given', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, segmentMs: 600_000 });
    expect(Math.ceil(c.partitionNeeds.restore)).toBe(168);
    expect(c.partitions).toBe(168);
    const fixed = capacity({ ...DOCUMENT_INPUTS, partitions: 12 });
    expect(fixed.partitions).toBe(12);
    expect(fixed.transactionsPerS).toBe(120);
    expect(fixed.perR[0].restoreS).toBeCloseTo(2 * base.perR[0].restoreS, 9);
  });

  it('a lower target utilisation needs more instances', () => {
    const c = capacity({ ...DOCUMENT_INPUTS, targetCpu: 0.25 });
    expect(c.perR[0].procInstances).toBe(Math.ceil(base.perR[0].procCpu / 0.25) + 1);
  });
});

describe('helpers', () => {
  it('evenPartitions takes the next of 1, 2, 3, 4, 6, 12 or a multiple of 12', () => {
    expect([0.5, 1, 5, 6, 7, 12, 13, 17.15, 24, 25, 167.1].map(evenPartitions)).toEqual([1, 1, 6, 6, 12, 12, 24, 24, 24, 36, 168]);
  });
  it('rBound tends to 1 for few draws and grows with many', () => {
    expect(rBound(1, 1e6)).toBeCloseTo(1, 5);
    expect(rBound(10_000, 100)).toBeCloseTo(100, 5);
  });
  it('instancesFor keeps at least one plus the spares', () => {
    expect(instancesFor(0, { targetCpu: 0.5, vcpuPerInstance: 1, spare: 1 })).toBe(2);
    expect(instancesFor(1, { targetCpu: 0.5, vcpuPerInstance: 1, spare: 0 })).toBe(2);
    expect(instancesFor(1, { targetCpu: 0.5, vcpuPerInstance: 2, spare: 0 })).toBe(1);
  });
});
