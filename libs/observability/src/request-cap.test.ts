import { Registry } from 'prom-client';
import { HttpError, requestCap, sendText, startHttpServer } from './index';

describe('requestCap', () => {
  it('answers exactly the one request over the cap 503 with Retry-After, then takes requests again; failures free their slot', async () => {
    const registry = new Registry();
    const cap = requestCap({
      maxConcurrent: 4,
      retryAfterSeconds: 2,
      what: 'test',
      registry,
      refusedMetric: { name: 'test_refused_total', help: 'refused' },
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: {
        '/slow': cap.wrap(async (_q, res) => {
          await gate;
          sendText(res, 200, 'done');
        }),
        '/fail': cap.wrap(async () => {
          throw new HttpError(418, 'no');
        }),
        '/throw': cap.wrap(() => {
          throw new Error('bug');
        }),
        '/free': (_q, res) => sendText(res, 200, 'free'),
      },
    });
    const get = (p: string) => fetch(`http://127.0.0.1:${server.port}${p}`);
    try {
      const slow = [1, 2, 3, 4].map(() => get('/slow'));
      while (cap.inFlight < 4) await new Promise((r) => setTimeout(r, 10));
      const over = await get('/slow');
      expect([over.status, over.headers.get('retry-after'), await over.text()]).toEqual([
        503,
        '2',
        'too many test requests in progress (4): try again shortly\n',
      ]);
      expect((await get('/free')).status).toBe(200); // not wrapped: not capped
      release();
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect([(await get('/fail')).status, (await get('/throw')).status]).toEqual([418, 500]);
      expect((await Promise.all([1, 2, 3, 4].map(() => get('/slow')))).map((r) => r.status)).toEqual([200, 200, 200, 200]);
      // Released on each response's finish, which the server may see just after the client has the answer.
      while (cap.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
      expect(await registry.metrics()).toMatch(/^test_refused_total 1$/m);
    } finally {
      await server.close();
    }
  });
});
