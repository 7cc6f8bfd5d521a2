import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, configWarnings, ConfigError, redact, markdownTable, KAFKA_OPTIONS, DATABASE_OPTIONS } from './index';

describe('loadConfig', () => {
  it('takes the flag over the environment over the default', () => {
    expect(loadConfig(['brokers'], [], {}).brokers).toEqual(['127.0.0.1:9092']);
    expect(loadConfig(['brokers'], [], { KAFKA_BROKERS: 'a:1, b:2' }).brokers).toEqual(['a:1', 'b:2']);
    expect(loadConfig(['brokers'], ['--brokers', 'c:3'], { KAFKA_BROKERS: 'a:1' }).brokers).toEqual(['c:3']);
  });

  it('parses integers and booleans and names the source of a bad value', () => {
    expect(loadConfig(['snapshotIntervalMs'], ['--snapshot-interval-ms=250'], {}).snapshotIntervalMs).toBe(250);
    expect(loadConfig(['kafkaSsl'], [], { KAFKA_SSL: 'yes' }).kafkaSsl).toBe(true);
    expect(() => loadConfig(['snapshotIntervalMs'], [], { SNAPSHOT_INTERVAL_MS: '5s' })).toThrow(
      /SNAPSHOT_INTERVAL_MS: "5s" is not an integer/,
    );
    expect(() => loadConfig(['kafkaSsl'], ['--kafka-ssl', 'maybe'], {})).toThrow(/--kafka-ssl: "maybe" is not a boolean/);
  });

  it('rejects unknown flags instead of silently using defaults', () => {
    expect(() => loadConfig(['brokers'], ['--broker', 'x'], {})).toThrow(ConfigError);
  });

  it('leaves options without default undefined', () => {
    expect(loadConfig(['stateDir'], [], {}).stateDir).toBeUndefined();
  });

  it('prints usage for --help', () => {
    expect(() => loadConfig(['brokers'], ['--help'], {})).toThrow(/--brokers \| KAFKA_BROKERS \| 127.0.0.1:9092/);
  });

  it('masks secrets', () => {
    const c = loadConfig(['kafkaSaslPassword', 'brokers'], [], { KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(c.kafkaSaslPassword).toBe('hunter2');
    expect(JSON.stringify(redact(c))).not.toContain('hunter2');
  });

  it('renders every option in the markdown table', () => {
    expect(markdownTable()).toContain('| `KAFKA_BROKERS` | `--brokers` | `127.0.0.1:9092` |');
  });

  describe('the SASL password', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'config-test-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };

    it('is read from --kafka-sasl-password-file or KAFKA_SASL_PASSWORD_FILE, the trailing newline trimmed', () => {
      const f = file('pw', 'p@ss word:1\n');
      expect(loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password-file', f], {}).kafkaSaslPassword).toBe('p@ss word:1');
      expect(loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: file('pw-crlf', 'secret\r\n') }).kafkaSaslPassword).toBe('secret');
      // only the one newline `echo` adds: a password may end in spaces or other newlines
      expect(loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: file('pw-raw', 'a b \n\n') }).kafkaSaslPassword).toBe('a b \n');
    });

    it('from a file is masked like the password itself', () => {
      const c = loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: file('pw2', 'hunter2\n') });
      expect(JSON.stringify(redact(c))).not.toContain('hunter2');
    });

    it('names the file when it cannot be read', () => {
      const missing = join(dir, 'no-such-file');
      expect(() => loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password-file', missing], {})).toThrow(ConfigError);
      expect(() => loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password-file', missing], {})).toThrow(
        `--kafka-sasl-password-file: cannot read the SASL password from "${missing}"`,
      );
      expect(() => loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: dir })).toThrow(
        new RegExp(`^KAFKA_SASL_PASSWORD_FILE: cannot read the SASL password from "${dir}": EISDIR`),
      );
      if (process.getuid?.() !== 0) {
        const locked = file('locked', 'x\n');
        chmodSync(locked, 0o000);
        expect(() => loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: locked })).toThrow(/EACCES/);
      }
      expect(() => loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD_FILE: file('empty', '\n') })).toThrow(
        /KAFKA_SASL_PASSWORD_FILE: ".*empty" is empty/,
      );
    });

    it('may be given one way only', () => {
      const f = file('pw3', 'a\n');
      expect(() => loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password-file', f], { KAFKA_SASL_PASSWORD: 'b' })).toThrow(
        '--kafka-sasl-password-file and KAFKA_SASL_PASSWORD are both set',
      );
    });

    it('on the command line is accepted with a warning; from the environment or a file without one', () => {
      const flag = loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password', 'hunter2'], {});
      expect(flag.kafkaSaslPassword).toBe('hunter2');
      expect(configWarnings(flag)).toEqual([
        expect.stringMatching(/--kafka-sasl-password was given on the command line.*KAFKA_SASL_PASSWORD or --kafka-sasl-password-file/),
      ]);
      expect(configWarnings(flag).join()).not.toContain('hunter2');
      expect(configWarnings(loadConfig(KAFKA_OPTIONS, [], { KAFKA_SASL_PASSWORD: 'hunter2' }))).toEqual([]);
      expect(configWarnings(loadConfig(KAFKA_OPTIONS, ['--kafka-sasl-password-file', file('pw4', 'x')], {}))).toEqual([]);
    });
  });

  describe('the PostgreSQL password (DATABASE_PASSWORD_FILE)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'config-test-db-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const URL_ = 'postgres://postgres@postgres:5432/movie_stream';
    // As node-postgres (pg-connection-string) reads a URL's password.
    const passwordIn = (url: string) => decodeURIComponent(new URL(url).password);

    it("is added to DATABASE_URL, percent-encoded, the trailing newline trimmed; the URL's other parts unchanged", () => {
      const c = loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: file('pw', 'f00d\n') });
      expect(c.databaseUrl).toBe('postgres://postgres:f00d@postgres:5432/movie_stream');
      const odd = 'p@ss:w/o%rd #?&=é ';
      const url = loadConfig(DATABASE_OPTIONS, ['--database-password-file', file('odd', `${odd}\r\n`)], {
        DATABASE_URL: `${URL_}?sslmode=disable`,
      }).databaseUrl!;
      expect(passwordIn(url)).toBe(odd);
      const u = new URL(url);
      expect([u.username, u.hostname, u.port, u.pathname, u.search]).toEqual([
        'postgres',
        'postgres',
        '5432',
        '/movie_stream',
        '?sslmode=disable',
      ]);
    });

    it('is masked with the URL, and reading it from a file gives no warning', () => {
      const c = loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: file('pw2', 'hunter2\n') });
      expect(JSON.stringify(redact(c))).not.toContain('hunter2');
      expect(configWarnings(c)).toEqual([]);
      const flag = loadConfig(DATABASE_OPTIONS, ['--database-url', URL_], {});
      expect(configWarnings(flag)).toEqual([
        expect.stringMatching(/--database-url was given.*use DATABASE_URL or --database-password-file instead/),
      ]);
    });

    it('leaves DATABASE_URL alone when unset', () => {
      expect(loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_ }).databaseUrl).toBe(URL_);
      expect(loadConfig(DATABASE_OPTIONS, [], {}).databaseUrl).toBeUndefined();
    });

    it('names the file when it is missing, unreadable or empty', () => {
      const missing = join(dir, 'no-such-file');
      expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: missing })).toThrow(ConfigError);
      expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: missing })).toThrow(
        new RegExp(`^DATABASE_PASSWORD_FILE: cannot read the password of DATABASE_URL's user from "${missing}": ENOENT`),
      );
      expect(() => loadConfig(DATABASE_OPTIONS, ['--database-password-file', dir], { DATABASE_URL: URL_ })).toThrow(
        new RegExp(`^--database-password-file: cannot read the password of DATABASE_URL's user from "${dir}": EISDIR`),
      );
      if (process.getuid?.() !== 0) {
        const locked = file('locked', 'x\n');
        chmodSync(locked, 0o000);
        expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: locked })).toThrow(/EACCES/);
      }
      expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: URL_, DATABASE_PASSWORD_FILE: file('empty', '\n') })).toThrow(
        /^DATABASE_PASSWORD_FILE: ".*empty" is empty \(expected the password of DATABASE_URL's user\)/,
      );
    });

    it('needs a DATABASE_URL with a host and without a password, and never shows the URL in the error', () => {
      const f = file('pw3', 'secret\n');
      expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_PASSWORD_FILE: f })).toThrow(
        'DATABASE_PASSWORD_FILE is set but DATABASE_URL (or --database-url) is not',
      );
      const both = () => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: 'postgres://app:hunter2@db:5432/x', DATABASE_PASSWORD_FILE: f });
      expect(both).toThrow('DATABASE_URL holds a password and DATABASE_PASSWORD_FILE is set: give the PostgreSQL password one way only');
      expect(both).not.toThrow(/hunter2/);
      expect(() => loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: 'hunter2 at db', DATABASE_PASSWORD_FILE: f })).toThrow(
        /^DATABASE_URL: not a URL \(postgres:\/\/user@host:5432\/db\), so DATABASE_PASSWORD_FILE cannot add the password to it$/,
      );
      expect(() =>
        loadConfig(DATABASE_OPTIONS, [], { DATABASE_URL: 'postgres:///x?host=/run/postgresql', DATABASE_PASSWORD_FILE: f }),
      ).toThrow('DATABASE_URL names no host, so DATABASE_PASSWORD_FILE cannot add the password to it');
    });
  });
});
