import { parseInstances, parseStartArgs } from './args';

describe('npm start arguments', () => {
  it('takes its own flags out and leaves the services’ options in order', () => {
    expect(parseStartArgs(['--ratings', 'r.csv', '--processors', '3', '--keep-topics', '--sinks=2', '--out', '/tmp/o'])).toEqual({
      keepTopics: true,
      keepDashboard: false,
      processors: 3,
      sinks: 2,
      sink: 'csv',
      state: 'file',
      rest: ['--ratings', 'r.csv', '--out', '/tmp/o'],
    });
    expect(parseStartArgs([])).toEqual({
      keepTopics: false,
      keepDashboard: false,
      processors: 1,
      sinks: 1,
      sink: 'csv',
      state: 'file',
      rest: [],
    });
    expect(parseStartArgs(['--sink', 'postgres', '--state=postgres', '--out', 'o'])).toMatchObject({
      sink: 'postgres',
      state: 'postgres',
      rest: ['--out', 'o'],
    });
    expect(parseStartArgs(['--keep-dashboard', '--sinks', '32']).sinks).toBe(32);
  });

  it('names the flag and the bad value', () => {
    expect(() => parseStartArgs(['--processors', '0'])).toThrow('--processors must be a whole number from 1 to 32, got "0"');
    expect(() => parseStartArgs(['--sinks', '33'])).toThrow('--sinks must be a whole number from 1 to 32, got "33"');
    expect(() => parseStartArgs(['--sinks=2.5'])).toThrow('--sinks must be a whole number from 1 to 32, got "2.5"');
    expect(() => parseStartArgs(['--processors'])).toThrow('--processors must be a whole number from 1 to 32, got nothing');
    expect(() => parseStartArgs(['--processors', '--sinks', '2'])).toThrow(
      '--processors must be a whole number from 1 to 32, got "--sinks"',
    );
    expect(() => parseStartArgs(['--sink', 'mysql'])).toThrow('--sink must be csv or postgres, got "mysql"');
    expect(() => parseStartArgs(['--state'])).toThrow('--state must be file or postgres, got nothing');
    expect(() => parseInstances('--sinks', '')).toThrow('--sinks must be a whole number from 1 to 32, got ""');
  });
});
