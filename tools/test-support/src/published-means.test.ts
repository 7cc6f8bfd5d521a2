import { publishedMismatches } from './published-means';

describe('publishedMismatches', () => {
  const expected = new Map([
    [1, { sum: 9, count: 2 }],
    [2, { sum: 4, count: 1 }],
  ]);
  it('is empty when every movie was last published with its exact sum and count', () => {
    const published = new Map([
      [1, { sum: 9, count: 2, maxCount: 2 }],
      [2, { sum: 4 + 1e-9, count: 1, maxCount: 1 }],
    ]);
    expect(publishedMismatches(published, expected)).toEqual([]);
  });
  it('names a movie behind, one never published and one published without ratings', () => {
    const published = new Map([
      [1, { sum: 5, count: 1, maxCount: 1 }],
      [3, { sum: 3, count: 1, maxCount: 1 }],
    ]);
    expect(publishedMismatches(published, expected)).toEqual([
      'movie 1: 5/1, expected 9/2',
      'movie 2: undefined/undefined, expected 4/1',
      'movie 3: published, but has no ratings',
    ]);
  });
});
