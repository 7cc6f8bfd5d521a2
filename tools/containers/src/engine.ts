// The container engine as the scripts choose it (tools/containers/lib.sh: docker when a Docker engine
// answers, else podman with runc + cgroupfs), for the container tests.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(__dirname, '..', '..', '..');

export const engine: string[] = execFileSync(
  'bash',
  ['-c', `source ${ROOT}/tools/containers/lib.sh && container_engine && printf '%s\\n' "\${ENGINE[@]}"`],
  { encoding: 'utf8' },
)
  .trim()
  .split('\n');

export const engineEnv: NodeJS.ProcessEnv = {
  ...process.env,
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? `${process.env.HOME}/.config/movie-stream/containers.conf`,
};

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** One engine command, synchronously. */
export function ctr(args: string[], timeout = 120_000): Result {
  const r = spawnSync(engine[0]!, [...engine.slice(1), ...args], { encoding: 'utf8', env: engineEnv, timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const run = promisify(execFile);

/** Any command without blocking the event loop (other awaits, e.g. polling Kafka, go on meanwhile). */
export async function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = engineEnv): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { env, maxBuffer: 64 << 20 });
    return { status: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** One engine command, asynchronously. */
export function ctrAsync(args: string[]): Promise<Result> {
  return runAsync(engine[0]!, [...engine.slice(1), ...args]);
}
