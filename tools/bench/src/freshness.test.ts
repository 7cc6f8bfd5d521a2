import { pollDelayMs, ProbeLedger } from './freshness';

describe('pollDelayMs', () => {
  it('polls every 5 ms at first, then at a tenth of the wait, never slower than every 50 ms', () => {
    expect([0, 20, 50, 100, 200, 400, 500, 5000].map(pollDelayMs)).toEqual([5, 5, 5, 10, 20, 40, 50, 50]);
  });
  it('keeps the error of a sample under a tenth of it once past the first 50 ms', () => {
    for (let waited = 50; waited < 10_000; waited += 7) expect(pollDelayMs(waited) / waited).toBeLessThanOrEqual(0.1);
  });
});

describe('ProbeLedger', () => {
  it('a count of n shows the first n probes of a movie, each timed from its own send', () => {
    const l = new ProbeLedger();
    l.add(1, 0);
    l.add(1, 100);
    l.add(2, 150);
    l.add(1, 200);
    expect(l.outstanding).toBe(4);
    l.seen(1, 2, 250); // the first two probes of movie 1
    expect(l.samples).toEqual([250, 150]);
    l.seen(1, 2, 400); // nothing new
    l.seen(2, 0, 400);
    expect(l.samples).toEqual([250, 150]);
    expect(l.movies().sort()).toEqual([1, 2]);
    expect(l.oldest()).toBe(150);
    l.seen(1, 3, 500);
    l.seen(2, 1, 600);
    expect(l.samples).toEqual([250, 150, 300, 450]);
    expect(l.outstanding).toBe(0);
    expect(l.oldest()).toBeUndefined();
  });
  it('a count past several probes resolves them all at once', () => {
    const l = new ProbeLedger();
    for (let t = 0; t < 1000; t += 100) l.add(7, t);
    l.seen(7, 10, 5000);
    expect(l.samples).toEqual([5000, 4900, 4800, 4700, 4600, 4500, 4400, 4300, 4200, 4100]);
  });
});
