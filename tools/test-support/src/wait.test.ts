import { createServer } from 'node:net';
import { freePort, freePorts, until } from './wait';

describe('until', () => {
  it('resolves true once the condition holds, having polled until then', async () => {
    let calls = 0;
    expect(await until(() => ++calls >= 3, 10_000, 1)).toBe(true);
    expect(calls).toBe(3);
  });

  it('takes async conditions', async () => {
    let n = 0;
    expect(await until(async () => ++n === 2, 10_000, 1)).toBe(true);
  });

  it('resolves false when the limit passes first, after polling more than once', async () => {
    let calls = 0;
    expect(await until(() => (calls++, false), 30, 5)).toBe(false);
    expect(calls).toBeGreaterThan(1);
  });

  it('ends with the error a condition throws', async () => {
    await expect(
      until(
        () => {
          throw new Error('service exited');
        },
        10_000,
        1,
      ),
    ).rejects.toThrow('service exited');
  });
});

describe('freePorts', () => {
  it('gives distinct ports that can be listened on', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of [...ports, await freePort()]) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((r) => s.close(r));
    }
  });
});
