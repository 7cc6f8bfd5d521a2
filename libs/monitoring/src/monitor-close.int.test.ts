// A closed monitor must leave nothing open: `npm start` once printed its summary and then never exited,
// held by one socket to the broker that a cluster poll in progress had reopened after close().
import { spawn } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(180_000);

it('lets the process exit when closed while a cluster poll is in progress', async () => {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'fixtures', 'close-during-poll.ts')], {
    env: { ...process.env, KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Generous: a busy machine (one CI run got no further than the start within 60 s: its stdout was empty);
  // the fixture itself takes about a second. A process still alive after this has something open (its
  // stderr says what) or never got to the close (its stdout says how far it got).
  const limit = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  clearTimeout(limit);
  expect(stdout).toBe('started\npolled\nclosed\n');
  expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
});
