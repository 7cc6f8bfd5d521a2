import { parseBenchArgs, parseVariant, USAGE } from './args';

describe('bench arguments', () => {
  it('--help and -h ask for the usage instead of failing as an unknown option', () => {
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
    expect(parseBenchArgs(['-h'])).toEqual({ help: true });
    for (const flag of ['--ratings', '--variant', '--skip-kafka-perf', '--help'])
      expect([flag, USAGE.includes(flag)]).toEqual([flag, true]);
  });

  it('reads the options, with the defaults for the rest', () => {
    const r = parseBenchArgs([
      '--ratings',
      '100000',
      '--skip-kafka-perf',
      '--variant',
      'big:PUBLISH_BATCH_SIZE=5000,KAFKA_ACKS=1',
      '--seed',
      '0',
    ]);
    expect(r).toEqual({
      help: false,
      opts: {
        ratings: 100_000,
        movies: 20_000,
        partitions: 6,
        processors: 1,
        sinks: 1,
        runs: 1,
        seed: 0,
        keepData: false,
        profileDir: undefined,
        skipKafkaPerf: true,
        freshnessSamples: 300,
        variants: [{ name: 'big', env: { PUBLISH_BATCH_SIZE: '5000', KAFKA_ACKS: '1' } }],
      },
    });
  });

  it('--sink postgres / --state postgres add one database variant after the file-mode baseline', () => {
    const both = parseBenchArgs(['--sink', 'postgres', '--state', 'postgres', '--variant', 'v:A=1']);
    expect(both).toMatchObject({
      opts: {
        variants: [
          { name: 'sink=postgres,state=postgres', env: {}, database: { sink: true, processor: true } },
          { name: 'v', env: { A: '1' } },
        ],
      },
    });
    expect(parseBenchArgs(['--state', 'postgres'])).toMatchObject({
      opts: { variants: [{ name: 'state=postgres', env: {}, database: { sink: false, processor: true } }] },
    });
    expect(parseBenchArgs([])).toMatchObject({ opts: { variants: [] } });
    expect(USAGE).toContain('--sink postgres');
  });

  it('--api-clients: one count or a list, and --api-mix with it; none by default', () => {
    expect(parseBenchArgs(['--api-clients', '8'])).toMatchObject({ opts: { apiClients: [8] } });
    expect(parseBenchArgs(['--api-clients', '0, 16', '--api-mix', 'movie=1,top=1'])).toMatchObject({
      opts: { apiClients: [0, 16], apiMix: { movie: 1, top: 1, genre: 0 } },
    });
    const none = parseBenchArgs(['--api-clients', '0']);
    expect(none.help === false && 'apiClients' in none.opts).toBe(false);
    expect(() => parseBenchArgs(['--api-clients=-1'])).toThrow('--api-clients must be an integer ≥ 0, got -1');
    expect(() => parseBenchArgs(['--api-clients', '2000'])).toThrow('--api-clients must be at most 1024, got 2000');
    expect(() => parseBenchArgs(['--api-clients', '8,8'])).toThrow('--api-clients 8,8: a count given twice');
    expect(() => parseBenchArgs(['--api-mix', 'top=1'])).toThrow('--api-mix without --api-clients');
    expect(() => parseBenchArgs(['--api-clients', '4', '--api-mix', 'foo=1'])).toThrow('"foo=1" is not ENDPOINT=WEIGHT');
    for (const flag of ['--api-clients', '--api-mix']) expect([flag, USAGE.includes(flag)]).toEqual([flag, true]);
  });

  it('names the bad value', () => {
    expect(() => parseBenchArgs(['--ratings', '1e3x'])).toThrow('--ratings must be an integer ≥ 1, got 1e3x');
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow('--runs must be an integer ≥ 1, got 0');
    expect(() => parseBenchArgs(['--processors', '0'])).toThrow('--processors must be an integer ≥ 1, got 0');
    expect(() => parseBenchArgs(['--sinks', '40'])).toThrow('--sinks must be at most 32, got 40');
    expect(parseBenchArgs(['--processors', '3', '--sinks', '2'])).toMatchObject({ opts: { processors: 3, sinks: 2 } });
    expect(parseBenchArgs(['--processors', '1,2,3'])).toMatchObject({ opts: { processors: 1, processorCounts: [1, 2, 3] } });
    expect(() => parseBenchArgs(['--processors', '1,0'])).toThrow('--processors must be an integer ≥ 1, got 0');
    expect(() => parseBenchArgs(['--ratngs', '5'])).toThrow(/ratngs/);
    expect(parseBenchArgs(['--freshness-samples', '0'])).toMatchObject({ opts: { freshnessSamples: 0 } });
    expect(() => parseBenchArgs(['--freshness-samples=-1'])).toThrow('--freshness-samples must be an integer ≥ 0, got -1');
    expect(() => parseBenchArgs(['--sink', 'mysql'])).toThrow('--sink must be csv or postgres, got mysql');
    expect(() => parseBenchArgs(['--state', 'redis'])).toThrow('--state must be file or postgres, got redis');
    expect(() => parseVariant('nocolon')).toThrow('--variant nocolon: expected NAME:KEY=VALUE[,KEY=VALUE…]');
    expect(() => parseVariant('v:A=1,B')).toThrow('--variant v:A=1,B: "B" is not KEY=VALUE');
  });

  it('--cpu-per-instance takes a share of one CPU (absent: no limit)', () => {
    const opts = (a: string[]) => {
      const r = parseBenchArgs(a);
      if (r.help) throw new Error('help');
      return r.opts;
    };
    expect(opts(['--processors', '1,2,3', '--cpu-per-instance', '0.2'])).toMatchObject({ processorCounts: [1, 2, 3], cpuPerInstance: 0.2 });
    expect(opts([]).cpuPerInstance).toBeUndefined();
  });

  it('--rolling-restart switches the restarts on (absent: none)', () => {
    expect(parseBenchArgs(['--processors', '3', '--sinks', '2', '--rolling-restart'])).toMatchObject({
      opts: { processors: 3, sinks: 2, rollingRestart: true },
    });
    const r = parseBenchArgs([]);
    expect(r.help === false && 'rollingRestart' in r.opts).toBe(false);
    expect(USAGE).toContain('--rolling-restart');
    expect(parseBenchArgs(['--rolling-restart-measure-only'])).toMatchObject({ opts: { rollingRestart: 'measure-only' } });
    expect(() => parseBenchArgs(['--rolling-restart', '--rolling-restart-measure-only'])).toThrow('pick one');
    for (const bad of ['0', '-1', 'x', '0.001', '100'])
      expect(() => parseBenchArgs(['--cpu-per-instance', bad])).toThrow(/--cpu-per-instance/);
  });
});
