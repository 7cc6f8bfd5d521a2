// npm start's own flags (the rest are the services' options, read by loadConfig).

/** Most instances of a consumer npm start runs: one machine, and more than the partitions only idle. */
export const MAX_INSTANCES = 32;

export interface StartArgs {
  keepTopics: boolean;
  keepDashboard: boolean;
  processors: number;
  sinks: number;
  /** --sink: where movie-data-sink writes (csv: movie-data.csv; postgres: the movie_data table). */
  sink: 'csv' | 'postgres';
  /** --state: where mean-rating-processor keeps its sums and counts. */
  state: 'file' | 'postgres';
  /** The arguments that are not npm start's own, for loadConfig. */
  rest: string[];
}

/** Instances of one consumer: an integer from 1 to MAX_INSTANCES, or an error naming the flag. */
export function parseInstances(flag: string, value: string | undefined): number {
  const n = value === undefined || value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) {
    throw new Error(
      `${flag} must be a whole number from 1 to ${MAX_INSTANCES}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
    );
  }
  return n;
}

const MODES = { sink: ['csv', 'postgres'], state: ['file', 'postgres'] } as const;

/** Default database of npm start's database modes (created on first use) when DATABASE_URL is unset. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/movie_stream';

/** Takes npm start's own flags out of `argv` (`--processors 3` or `--processors=3`); leaves the rest in order. */
export function parseStartArgs(argv: string[]): StartArgs {
  const out: StartArgs = { keepTopics: false, keepDashboard: false, processors: 1, sinks: 1, sink: 'csv', state: 'file', rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep-topics') out.keepTopics = true;
    else if (a === '--keep-dashboard') out.keepDashboard = true;
    else {
      const mode = /^--(sink|state)(?:=(.*))?$/.exec(a);
      if (mode) {
        const flag = mode[1] as 'sink' | 'state';
        const value = mode[2] ?? argv[++i];
        const allowed: readonly string[] = MODES[flag];
        if (value === undefined || !allowed.includes(value)) {
          throw new Error(`--${flag} must be ${allowed.join(' or ')}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
        }
        (out as unknown as Record<string, string>)[flag] = value;
        continue;
      }
      const m = /^--(processors|sinks)(?:=(.*))?$/.exec(a);
      if (!m) {
        out.rest.push(a);
        continue;
      }
      const value = m[2] ?? argv[++i];
      out[m[1] as 'processors' | 'sinks'] = parseInstances(`--${m[1]}`, value);
    }
  }
  return out;
}
