import { configurationOf, scaleOutRatios, scaleOutTable } from './scale-out';

describe('scale-out figures', () => {
  it("are each count's throughput and CPU per rating relative to the first count's", () => {
    // The figures: 1 / 3 processors at 0.2 CPU each, 42.4k / 83.3k ratings/s, 4.41 / 6.49 CPU-s per 1M
    // (3.5 / 3.85 of them while the data flowed).
    const base = { e2e_ratings_per_s: 42_400, processor_cpu_s_per_1m: 4.41, processor_run_cpu_s_per_1m: 3.5 };
    expect(scaleOutRatios(base, base)).toEqual({ throughput_x: 1, processor_cpu_per_rating_pct: 0, processor_run_cpu_per_rating_pct: 0 });
    expect(scaleOutRatios({ e2e_ratings_per_s: 83_300, processor_cpu_s_per_1m: 6.49, processor_run_cpu_s_per_1m: 3.85 }, base)).toEqual({
      throughput_x: 1.965,
      processor_cpu_per_rating_pct: 47.2,
      processor_run_cpu_per_rating_pct: 10,
    });
  });

  it('print as a small table', () => {
    const t = scaleOutTable(
      [
        {
          name: '1-processor',
          processors: 1,
          e2e_ratings_per_s: 42_400,
          processor_cpu_s_per_1m: 4.41,
          processor_run_cpu_s_per_1m: 3.5,
          throughput_x: 1,
          processor_cpu_per_rating_pct: 0,
          processor_run_cpu_per_rating_pct: 0,
        },
        {
          name: '3-processors',
          processors: 3,
          e2e_ratings_per_s: 83_300,
          processor_cpu_s_per_1m: 6.49,
          processor_run_cpu_s_per_1m: 3.85,
          throughput_x: 1.965,
          processor_cpu_per_rating_pct: 47.2,
          processor_run_cpu_per_rating_pct: 10,
        },
      ],
      0.2,
    ).split('\n');
    expect(t[0]).toMatch(/^scale-out \(0.2 CPU per consumer instance\)\s+processors\s+ratings\/s/);
    expect(t[2]).toMatch(/^1-processor\s+1\s+42,400\s+1.00×\s+4.410\s+\+0.0 %\s+3.500\s+\+0.0 %$/);
    expect(t[3]).toMatch(/^3-processors\s+3\s+83,300\s+1.97×\s+6.490\s+\+47.2 %\s+3.850\s+\+10.0 %$/);
  });

  it("match each column to its configuration's first count: one configuration's columns share one base", () => {
    // --processors 1,3 alone names its columns "1-processor" and "3-processors": both the one configuration
    // (the scale-out table crashed on a 3-processors column without a base).
    expect(configurationOf('3-processors')).toBe(configurationOf('1-processor'));
    expect(configurationOf('coalesce100@3p')).toBe('coalesce100');
    expect(configurationOf('baseline@1p')).not.toBe(configurationOf('coalesce100@1p'));
    expect(configurationOf('a@b@3p')).toBe('a@b');
  });
});
