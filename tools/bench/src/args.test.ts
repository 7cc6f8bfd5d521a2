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
});
