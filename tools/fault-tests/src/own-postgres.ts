// A throw-away PostgreSQL server of a test's own (initdb in a temp directory, the machine's binaries), so the
// test can really stop it hard (`pg_ctl stop -m immediate`: no checkpoint, crash recovery on the next start)
// without touching the machine's shared server. The server runs as the `postgres` OS user (initdb and
// postgres refuse root), listens on 127.0.0.1 only with trust auth, and keeps fsync on.
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

/** The newest version's bin directory under /usr/lib/postgresql that has initdb and pg_ctl, if any. */
function binDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && ['initdb', 'pg_ctl'].every((b) => existsSync(join(PG_ROOT, v, 'bin', b))))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(PG_ROOT, versions[0], 'bin');
}

function osUserIds(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why no server of our own can be made here, or undefined. Synchronous, because describe() is. */
export function ownPostgresMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (the server must be started as the postgres OS user with runuser)';
  if (!binDir()) return `no PostgreSQL binaries (initdb, pg_ctl) under ${PG_ROOT}/<version>/bin`;
  if (spawnSync('runuser', ['--help'], { stdio: 'ignore' }).status !== 0) return 'no runuser command';
  if (!osUserIds('postgres')) return 'no postgres OS user';
  return undefined;
}

export class OwnPostgres {
  private running = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  /** URL of database `db` over TCP (what the services use). */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  /** URL of database `db` over the server's Unix socket (in `dir`): reachable while TCP is switched off. */
  socketUrl(db = 'postgres'): string {
    return `postgres://postgres@localhost:${this.port}/${db}?host=${encodeURIComponent(this.dir)}`;
  }

  /** A new cluster in a new temp directory, not started. */
  static async create(port: number): Promise<OwnPostgres> {
    const bin = binDir();
    const ids = osUserIds('postgres');
    if (!bin || !ids) throw new Error(`OwnPostgres: ${ownPostgresMissing()}`);
    const dir = mkdtempSync(join(tmpdir(), 'movie-stream-pg-'));
    chownSync(dir, ids.uid, ids.gid);
    const pg = new OwnPostgres(dir, port, bin);
    try {
      // --no-sync speeds up initdb only; the server itself runs with fsync on.
      await pg.asPostgres('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    appendFileSync(
      join(pg.dataDir, 'postgresql.conf'),
      `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = on\n`,
    );
    return pg;
  }

  private asPostgres(tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    // cwd: the postgres user may not be allowed into the caller's directory.
    return run('runuser', ['-u', 'postgres', '--', join(this.bin, tool), ...args], { cwd: this.dir, timeout: 120_000 });
  }

  /** Starts the server and waits until it accepts connections. `tcp: false`: Unix socket only (the services cannot reach it). */
  async start(opts: { tcp?: boolean } = {}): Promise<void> {
    const extra = opts.tcp === false ? ['-o', "-c listen_addresses=''"] : [];
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', ...extra, 'start']);
    this.running = true;
  }

  /** Stops the server the way a crash does (`-m immediate`: every backend killed, no checkpoint). */
  async stopImmediate(): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
    this.running = false;
  }

  /** Stops it cleanly (`-m fast`). */
  async stop(): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', '-m', 'fast', 'stop']);
    this.running = false;
  }

  /** Stops the server if it may be running and deletes its directory. */
  async remove(): Promise<void> {
    if (this.running || existsSync(join(this.dataDir, 'postmaster.pid'))) await this.stopImmediate().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
