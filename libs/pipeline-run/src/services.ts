import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppName, REPO_ROOT } from './apps';
import { OPTIONS } from '@movie-stream/config';

/** Bundles the apps (esbuild, ~1 s) so services run as they do in production: `node dist/apps/<app>/main.js`. */
export function buildApps(): void {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'tools', 'build', 'bundle.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('building the apps failed (node tools/build/bundle.mjs)');
}

/** Starts the project's broker unless KAFKA_BROKERS points elsewhere (idempotent). */
export function ensureLocalKafka(): void {
  const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), 'start'], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('could not start the local Kafka broker (npm run kafka:start); see .kafka/ logs');
}

export interface ServiceProcess {
  app: AppName;
  child: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number style negative for signals). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lines the service printed on stdout (its result, e.g. a producer's summary JSON). */
  stdout: string[];
  logFile: string;
}

// Services still running; SIGKILLed when this process exits, whichever way it exits (detached children
// would otherwise outlive it).
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node dist/apps/<app>/main.js`; its stderr goes to `<logDir>/<logName>.log` (default: the app's name).
 * `commandPrefix` runs it through another command, e.g. `['ip', 'netns', 'exec', ns]` (a host of its own in
 * the network fault test); the prefix must exec the service, so that signals reach the service itself.
 */
export function startService(
  app: AppName,
  env: NodeJS.ProcessEnv,
  args: string[],
  logDir: string,
  logName: string = app,
  commandPrefix: string[] = [],
): ServiceProcess {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${logName}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const command = [...commandPrefix, process.execPath, join(REPO_ROOT, 'dist', 'apps', app, 'main.js'), ...args];
  const child = spawn(command[0], command.slice(1), {
    // The services' Node options: the user's NODE_OPTIONS (or a run's own) if set, else the default of the
    // config list (a heap bound below 2 GB: V8 then collects before the heap is 2× the live data, not 4×).
    env: { ...process.env, LOG_FORMAT: 'text', NODE_OPTIONS: process.env.NODE_OPTIONS ?? OPTIONS.nodeOptions.default, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: Ctrl-C at a terminal signals the whole foreground group, and a service
    // that got that SIGINT and then the runner's SIGTERM took the second signal as "exit now, no final
    // snapshot". Only the runner gets the terminal's signals; it stops the services with one SIGTERM.
    detached: true,
  });
  running.add(child);
  const stdout: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      stdout.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr?.pipe(log);
  child.on('exit', () => running.delete(child));
  // 'close', not 'exit': the process can exit before its last output is read, and a caller reads `stdout` (a
  // producer's summary line) as soon as this resolves (a CI run got no line from a process that printed one).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (code, signal) => {
      log.end();
      res({ code, signal });
    }),
  );
  return { app, child, exited, stdout, logFile };
}
