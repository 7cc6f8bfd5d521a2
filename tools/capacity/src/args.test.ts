import { parseCapacityArgs } from './args';
import { DOCUMENT_INPUTS } from './capacity';

describe('parseCapacityArgs', () => {
  it("defaults to the document's inputs, measured ones left to --bench", () => {
    const a = parseCapacityArgs([]);
    expect(a.inputs).toEqual(DOCUMENT_INPUTS);
    expect(a.bench).toEqual([]);
    expect([...a.fromBench].sort()).toEqual([
      'meanRatingBytes',
      'procFixedUs',
      'procPerMessageUs',
      'producerUsPerRating',
      'ratingBytes',
      'scaleOutFactor',
      'sinkUsPerMessage',
    ]);
  });

  it('takes flags, lists and repeated --bench; a flag takes a measured input away from the bench', () => {
    const a = parseCapacityArgs([
      '--ratings-per-day',
      '2000000000',
      '--peak-factor=5',
      '--bench',
      'a.txt',
      '--bench',
      '-',
      '--r',
      '2,4',
      '--retention-days',
      '7',
      '--rating-bytes',
      '24.7',
      '--partitions',
      '36',
    ]);
    expect(a.inputs).toMatchObject({
      ratingsPerDay: 2e9,
      peakFactor: 5,
      ratingsPerMeanRating: [2, 4],
      retentionDays: [7],
      ratingBytes: 24.7,
      partitions: 36,
    });
    expect(a.bench).toEqual(['a.txt', '-']);
    expect(a.fromBench.has('ratingBytes')).toBe(false);
    expect(a.fromBench.has('meanRatingBytes')).toBe(true);
  });

  it('says which flag is wrong and why', () => {
    expect(() => parseCapacityArgs(['--peak-factor', 'ten'])).toThrow('--peak-factor ten: not a number');
    expect(() => parseCapacityArgs(['--movies', '0'])).toThrow('--movies 0: must be above 0');
    expect(() => parseCapacityArgs(['--r', '1,,3'])).toThrow('--r : not a number');
    expect(() => parseCapacityArgs(['--partitions', '2.5'])).toThrow('--partitions 2.5: must be a whole number');
    expect(() => parseCapacityArgs(['--target-cpu', '2'])).toThrow('--target-cpu 2: a share of an instance');
    expect(() => parseCapacityArgs(['--ratings-per-dya', '1'])).toThrow("Unknown option '--ratings-per-dya'");
    expect(parseCapacityArgs(['--spare', '0']).inputs.spare).toBe(0);
  });
});
