import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OPTIONS, OptionName, OptionSpec } from './options';

type ValueOf<S extends OptionSpec> = S['type'] extends 'int'
  ? number
  : S['type'] extends 'bool'
    ? boolean
    : S['type'] extends 'list'
      ? string[]
      : string;

export type Config<N extends OptionName> = {
  [K in N]: (typeof OPTIONS)[K] extends { default: string } ? ValueOf<(typeof OPTIONS)[K]> : ValueOf<(typeof OPTIONS)[K]> | undefined;
};

/** A setting that cannot be used; the message names the variable, the flag and what is wrong. */
export class ConfigError extends Error {}

function convert(spec: OptionSpec, raw: string, from: string): unknown {
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${from}: "${raw}" is not an integer`);
      return Number(raw);
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(`${from}: "${raw}" is not a boolean (true/false)`);
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

/**
 * Reads the named options: flag beats environment variable beats default.
 * Unknown flags are errors (a typo must not silently fall back to a default).
 */
export function loadConfig<N extends OptionName>(
  names: readonly N[],
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Config<N> {
  const flagOptions: Record<string, { type: 'string' }> = { help: { type: 'string' } };
  for (const n of names) {
    const flag = (OPTIONS[n] as OptionSpec).flag;
    if (flag) flagOptions[flag] = { type: 'string' };
  }
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({
      args: argv.map((a) => (a === '--help' ? '--help=' : a)),
      options: flagOptions,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${usage(names)}`);
  }
  if (parsed.help !== undefined) throw new ConfigError(usage(names));
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  const warnings: string[] = [];
  for (const n of names) {
    const spec: OptionSpec = OPTIONS[n];
    const flagValue = spec.flag ? parsed[spec.flag] : undefined;
    if (typeof flagValue === 'string') {
      out[n] = convert(spec, flagValue, (from[n] = `--${spec.flag}`));
      if (spec.secret) {
        warnings.push(
          `--${spec.flag} was given on the command line, where every user of this machine can read it (ps); use ${spec.env}${SECRET_FILE_FLAG[n] ? ` or --${SECRET_FILE_FLAG[n]}` : ''} instead`,
        );
      }
    } else if (env[spec.env] !== undefined && env[spec.env] !== '') out[n] = convert(spec, env[spec.env] as string, (from[n] = spec.env));
    else if (spec.default !== undefined) out[n] = convert(spec, spec.default, `default of ${spec.env}`);
    else out[n] = undefined;
  }
  if (out.kafkaSaslPasswordFile !== undefined) {
    const fileFrom = from.kafkaSaslPasswordFile!;
    if (from.kafkaSaslPassword)
      throw new ConfigError(`${fileFrom} and ${from.kafkaSaslPassword} are both set: give the SASL password one way only`);
    out.kafkaSaslPassword = readPasswordFile(out.kafkaSaslPasswordFile as string, fileFrom, 'the SASL password');
  }
  if (out.databasePasswordFile !== undefined) {
    out.databaseUrl = withDatabasePassword(
      out.databaseUrl as string | undefined,
      from.databaseUrl,
      out.databasePasswordFile as string,
      from.databasePasswordFile!,
    );
  }
  CONFIG_WARNINGS.set(out, warnings);
  return out as Config<N>;
}

const CONFIG_WARNINGS = new WeakMap<object, string[]>();

/** What loadConfig found risky but accepted (a password on the command line), for the start-up log. */
export function configWarnings(config: object): string[] {
  return CONFIG_WARNINGS.get(config) ?? [];
}

/** The flag of the file a secret option can also come from (named in the warning about the secret's flag). */
const SECRET_FILE_FLAG: Partial<Record<OptionName, string>> = {
  kafkaSaslPassword: OPTIONS.kafkaSaslPasswordFile.flag,
  databaseUrl: OPTIONS.databasePasswordFile.flag,
};

/** A password file's content without the one newline `echo` adds; what = "the SASL password", for the errors. */
function readPasswordFile(file: string, from: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${from}: cannot read ${what} from "${file}": ${(e as Error).message}`);
  }
  // `echo secret > file` adds a newline that is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ConfigError(`${from}: "${file}" is empty (expected ${what})`);
  return password;
}

/**
 * DATABASE_URL with the password of DATABASE_PASSWORD_FILE in it (percent-encoded, as node-postgres decodes
 * it). The errors never show the URL: it may hold a password.
 */
function withDatabasePassword(url: string | undefined, urlFrom: string | undefined, file: string, from: string): string {
  const what = "the password of DATABASE_URL's user";
  if (url === undefined)
    throw new ConfigError(`${from} is set but DATABASE_URL (or --database-url) is not: the password file needs the server's URL`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${urlFrom}: not a URL (postgres://user@host:5432/db), so ${from} cannot add the password to it`);
  }
  if (u.password !== '') throw new ConfigError(`${urlFrom} holds a password and ${from} is set: give the PostgreSQL password one way only`);
  const password = readPasswordFile(file, from, what);
  u.password = encodeURIComponent(password);
  // The URL's password setter does nothing where the URL has no host (postgres:///db?host=/run/postgresql).
  if (u.password === '')
    throw new ConfigError(`${urlFrom} names no host, so ${from} cannot add the password to it: give the host in the URL`);
  return u.toString();
}

export function usage(names: readonly OptionName[]): string {
  const lines = ['Options (flag | environment variable | default):'];
  for (const n of names) {
    const s: OptionSpec = OPTIONS[n];
    lines.push(`  ${s.flag ? `--${s.flag} | ` : ''}${s.env} | ${s.default ?? '(unset)'}\n      ${s.description}`);
  }
  return lines.join('\n');
}

/** The config with secrets masked, for a start-up log line. */
export function redact<T extends object>(config: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const spec = (OPTIONS as Record<string, OptionSpec>)[k];
    out[k] = spec?.secret && v !== undefined ? '***' : v;
  }
  return out;
}

/** Markdown table of every option, for the README. */
export function markdownTable(): string {
  const rows = ['| Variable | Flag | Default | Meaning |', '|---|---|---|---|'];
  for (const s of Object.values(OPTIONS) as OptionSpec[]) {
    const def = s.env === 'INSTANCE_ID' ? '`<hostname>-<pid>`' : s.default !== undefined ? `\`${s.default}\`` : '';
    rows.push(`| \`${s.env}\` | ${s.flag ? `\`--${s.flag}\`` : ''} | ${def} | ${s.description} |`);
  }
  return rows.join('\n');
}
