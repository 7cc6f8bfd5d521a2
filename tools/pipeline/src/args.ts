// npm start's own flags (the rest are the services' options, read by loadConfig).

/** Most instances of a consumer npm start runs: one machine, and more than the partitions only idle. */
export const MAX_INSTANCES = 32;

export interface StartArgs {
  keepTopics: boolean;
  keepDashboard: boolean;
  processors: number;
  sinks: number;
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

/** Takes npm start's own flags out of `argv` (`--processors 3` or `--processors=3`); leaves the rest in order. */
export function parseStartArgs(argv: string[]): StartArgs {
  const out: StartArgs = { keepTopics: false, keepDashboard: false, processors: 1, sinks: 1, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep-topics') out.keepTopics = true;
    else if (a === '--keep-dashboard') out.keepDashboard = true;
    else {
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
