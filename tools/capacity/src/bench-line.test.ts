import { lastJsonLine, measuredFromBench, type Line, type MeasuredKey } from './bench-line';

const ALL = new Set<MeasuredKey>([
  'procFixedUs',
  'procPerMessageUs',
  'scaleOutFactor',
  'sinkUsPerMessage',
  'producerUsPerRating',
  'ratingBytes',
  'meanRatingBytes',
]);

// Shaped like docs/CAPACITY.md's runs B and D (one instance; CPU-s per 1M ratings = µs per rating).
const runB = {
  ratings: 1_000_000,
  processors: 1,
  processor_cpu_s_per_1m: 2.91,
  ratings_per_mean_rating: 14.2,
  sink_cpu_s: 1.2,
  mean_rating_messages: 70_423,
  producer_cpu_s_per_1m: 2.8,
  ratings_topic_mb: 41.9,
  mean_ratings_topic_mb: 2.9,
};
const runD = {
  ratings: 1_000_000,
  processors: 1,
  processor_cpu_s_per_1m: 4.51,
  ratings_per_mean_rating: 6.17,
  sink_cpu_s: 3.9,
  mean_rating_messages: 162_075,
  producer_cpu_s_per_1m: 3.5,
  ratings_topic_mb: 43.7,
  mean_ratings_topic_mb: 6.8,
};

describe('lastJsonLine', () => {
  it('takes the last line that parses as a JSON object, skipping the table and a trailing newline', () => {
    const text = ['| table |', '{"a":1}', '{not json', '[1,2]', JSON.stringify(runD), '', ''].join('\n');
    expect(lastJsonLine(text, 'f')).toEqual(runD);
    expect(lastJsonLine('{"a":1}\n{broken\n', 'f')).toEqual({ a: 1 });
  });
  it('says which input has none', () => {
    expect(() => lastJsonLine('| a | b |\n', 'out.txt')).toThrow(
      "out.txt: no line parses as a JSON object (expected the last line of npm run bench's output)",
    );
  });
});

describe('measuredFromBench', () => {
  it('one line: the per-message part through its point with the given fixed part; the rest read off it', () => {
    const m = measuredFromBench([{ source: 'D', line: runD }], ALL, 1.68);
    expect(m.values.procFixedUs).toBeUndefined();
    expect(m.values.procPerMessageUs).toBeCloseTo((4.51 - 1.68) * 6.17, 9);
    expect(m.values.sinkUsPerMessage).toBeCloseTo((3.9 / 162_075) * 1e6, 9);
    expect(m.values.producerUsPerRating).toBe(3.5);
    expect(m.values.ratingBytes).toBeCloseTo(43.7, 9);
    expect(m.values.meanRatingBytes).toBeCloseTo(6.8e6 / 162_075, 9);
    expect(m.values.scaleOutFactor).toBeUndefined();
    expect(m.notes).toEqual([]);
  });

  it("two lines: the line through both points gives the document's fit (1.68 µs + 17.5 µs ÷ r), per-message figures the largest", () => {
    const m = measuredFromBench(
      [
        { source: 'B', line: runB },
        { source: 'D', line: runD },
      ],
      ALL,
      99,
    );
    expect(m.values.procFixedUs).toBeCloseTo(1.68, 2);
    expect(m.values.procPerMessageUs).toBeCloseTo(17.46, 2);
    expect(m.values.procFixedUs! + m.values.procPerMessageUs! / 8.4).toBeCloseTo(3.76, 2);
    expect(m.values.producerUsPerRating).toBe(3.5);
    expect(m.values.ratingBytes).toBeCloseTo(43.7, 9);
    expect(m.sources.ratingBytes).toContain('largest of B, D: D');
  });

  it('g from the scale_out rows: the last row relative to the first', () => {
    const line = {
      ...runD,
      scale_out: [
        { processors: 1, processor_cpu_per_rating_pct: 0 },
        { processors: 3, processor_cpu_per_rating_pct: 38.5 },
      ],
    };
    const m = measuredFromBench([{ source: 'A', line }], new Set<MeasuredKey>(['scaleOutFactor']), 1.68);
    expect(m.values).toEqual({ scaleOutFactor: 1.385 });
    expect(m.sources.scaleOutFactor).toBe('scale_out of A: 1 → 3 processors, +38.5 %');
  });

  it('only what is wanted is read: a missing field for an input given as a flag is no error', () => {
    const line: Line = { source: 'x', line: { ...runD, sink_cpu_s: undefined } };
    expect(measuredFromBench([line], new Set<MeasuredKey>(['ratingBytes']), 1.68).values).toEqual({ ratingBytes: 43.7 });
  });

  it('names the missing or bad field, why it is needed and the way out', () => {
    const { sink_cpu_s: _, ...noSink } = runD;
    expect(() => measuredFromBench([{ source: 'run.txt', line: noSink }], ALL, 1.68)).toThrow(
      'run.txt: field sink_cpu_s is missing (needed for c_sink, the sink CPU per MeanRating message; give that input as a flag instead)',
    );
    expect(() => measuredFromBench([{ source: 'run.txt', line: { ...runD, ratings_topic_mb: 'NaN' } }], ALL, 1.68)).toThrow(
      'run.txt: field ratings_topic_mb is "NaN", not a finite number ≥ 0 (needed for b_r',
    );
    expect(() => measuredFromBench([{ source: 'r', line: { ...runD, mean_rating_messages: 0 } }], ALL, 1.68)).toThrow(
      'field mean_rating_messages is 0',
    );
    expect(() => measuredFromBench([{ source: 'r', line: runD }], ALL, 5)).toThrow('is not above the fixed part 5 µs');
  });

  it('notes a processor figure measured at several instances', () => {
    const m = measuredFromBench([{ source: 'C', line: { ...runD, processors: 3 } }], ALL, 1.68);
    expect(m.notes[0]).toContain('C: processor CPU measured at 3 instances');
  });
});
