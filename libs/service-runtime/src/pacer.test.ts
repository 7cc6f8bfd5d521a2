import { Pacer } from './pacer';

describe('Pacer', () => {
  it('releases rows at the rate: row n is due n/rate seconds after the start', () => {
    const p = new Pacer(20_000, 1000);
    expect(p.slice).toBe(1000); // 50 ms of 20,000/s
    expect(p.waitMs(0, 1000)).toBe(0);
    expect(p.waitMs(1000, 1000)).toBe(50);
    expect(p.waitMs(1000, 1030)).toBe(20);
    expect(p.waitMs(20_000, 1000)).toBe(1000);
    // Behind schedule (a slow broker): no wait, and no burst beyond the rate's total either.
    expect(p.waitMs(1000, 5000)).toBe(0);
  });

  it('slices at least one row, and refuses a rate that is not positive', () => {
    expect(new Pacer(5, 0).slice).toBe(1);
    expect(() => new Pacer(0, 0)).toThrow('above 0');
    expect(() => new Pacer(Number.NaN, 0)).toThrow('above 0');
  });

  it('property: a run paced by it never sends more than rate × elapsed + one slice', () => {
    for (const rate of [7, 1000, 33_333]) {
      const p = new Pacer(rate, 0);
      let now = 0;
      let sent = 0;
      while (sent < rate * 3) {
        now += p.waitMs(sent, now);
        expect(sent).toBeLessThanOrEqual((rate * now) / 1000 + 1e-9);
        sent += p.slice;
        now += 3; // the send itself
      }
      // …and takes as long as the rate says: the last slice went out when its first row was due.
      expect(now).toBeGreaterThanOrEqual(((sent - p.slice) * 1000) / rate);
    }
  });
});
