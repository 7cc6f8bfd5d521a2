import * as fc from 'fast-check';
import { enumParam, fuzzHttpServer, intParam, sendJson, sendRaw, ServiceMetrics, startHttpEndpoints, startHttpServer } from './index';

// A few thousand raw requests: seconds on a busy machine.
jest.setTimeout(120_000);

describe('http endpoints', () => {
  it('serves Prometheus metrics and health on 127.0.0.1', async () => {
    const metrics = new ServiceMetrics('svc', 'i1');
    metrics.messages.inc({ action: 'published', topic: 'ratings' }, 42);
    let healthy = true;
    const ep = await startHttpEndpoints({ host: '127.0.0.1', port: 0, metrics, health: () => ({ ok: healthy, consumer: 'running' }) });
    try {
      expect(ep.server.address()).toMatchObject({ address: '127.0.0.1' });
      const m = await fetch(`http://127.0.0.1:${ep.port}/metrics`);
      const text = await m.text();
      expect(text).toContain('movie_stream_messages_total{action="published",topic="ratings",service="svc",instance="i1"} 42');
      expect(text).toContain('process_resident_memory_bytes');
      const h = await fetch(`http://127.0.0.1:${ep.port}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.json()).toEqual({ ok: true, consumer: 'running' });
      healthy = false;
      expect((await fetch(`http://127.0.0.1:${ep.port}/healthz`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${ep.port}/nope`)).status).toBe(404);
    } finally {
      await ep.close();
    }
  });
});

describe('expected Kafka conditions', () => {
  it('counts them on /metrics as the source says at each scrape', async () => {
    const counts: Record<string, number> = { NOT_LEADER_FOR_PARTITION: 2 };
    const metrics = new ServiceMetrics('svc', 'i1', () => counts);
    const line = (n: number, c = 'NOT_LEADER_FOR_PARTITION') =>
      `movie_stream_kafka_expected_conditions_total{condition="${c}",service="svc",instance="i1"} ${n}`;
    expect(await metrics.registry.metrics()).toContain(line(2));
    counts.NOT_LEADER_FOR_PARTITION = 5;
    counts.REBALANCE_IN_PROGRESS = 1;
    const text = await metrics.registry.metrics();
    expect(text).toContain(line(5));
    expect(text).toContain(line(1, 'REBALANCE_IN_PROGRESS'));
  });
});

describe('routes mounted after start', () => {
  it('answers 503 under /api/ until routes are mounted, then serves them next to /metrics and /healthz', async () => {
    const metrics = new ServiceMetrics('svc', 'i1');
    const ep = await startHttpEndpoints({ host: '127.0.0.1', port: 0, metrics, health: () => ({ ok: true }) });
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${ep.port}${path}`);
      return [r.status, (await r.text()).trim()];
    };
    try {
      expect(await get('/api/movies/1')).toEqual([503, 'starting: not serving this yet, try again shortly']);
      expect(await get('/api')).toEqual([503, 'starting: not serving this yet, try again shortly']);
      expect(await get('/other')).toEqual([404, 'not found: try /metrics or /healthz']);
      ep.mount({
        routes: { '/api/x': (_q, res) => sendJson(res, { x: 1 }) },
        fallback: (_q, res, url) => sendJson(res, { fallback: url.pathname }, 404),
      });
      expect(await get('/api/x')).toEqual([200, '{"x":1}']);
      expect(await get('/api/y')).toEqual([404, '{"fallback":"/api/y"}']);
      expect((await get('/healthz'))[0]).toBe(200);
      ep.mount({ routes: {} });
      expect(await get('/api/x')).toEqual([404, 'not found: try /metrics or /healthz']);
    } finally {
      await ep.close();
    }
  });
});

describe('http server helper', () => {
  it('answers every generated malformed request without crashing, and /healthz after each batch', async () => {
    const metrics = new ServiceMetrics('svc', 'i1');
    const ep = await startHttpEndpoints({ host: '127.0.0.1', port: 0, metrics, health: () => ({ ok: true }) });
    try {
      const r = await fuzzHttpServer(fc, { port: ep.port, paths: ['/metrics', '/healthz'], batches: 40, batchSize: 50 });
      expect(r.requests).toBe(2000);
      // Not only rejections: the generator also hits the real endpoints.
      expect(r.statuses.get(200)).toBeGreaterThan(0);
      expect(r.statuses.get(400)).toBeGreaterThan(0);
    } finally {
      await ep.close();
    }
  });

  it('answers 400 to a target new URL cannot parse and to bad query values, 500 to a failing handler', async () => {
    const failures: string[] = [];
    const srv = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      onError: (e) => failures.push(e.message),
      routes: {
        '/n': (_req, res, url) =>
          sendJson(res, { n: intParam(url, 'n', 1, { min: 1, max: 10 }), by: enumParam(url, 'by', ['a', 'b'], 'a') }),
        '/boom': async () => {
          throw new Error('boom');
        },
      },
    });
    try {
      expect(await sendRaw(srv.port, 'GET http://h:99999/ HTTP/1.1\r\nhost: x\r\n\r\n')).toEqual({ status: 400 });
      expect(await fetch(`http://127.0.0.1:${srv.port}/n?n=3&by=b`).then((r) => r.json())).toEqual({ n: 3, by: 'b' });
      for (const q of ['n=0', 'n=11', 'n=abc', 'n=1e3', 'by=c'])
        expect((await fetch(`http://127.0.0.1:${srv.port}/n?${q}`)).status).toBe(400);
      expect((await fetch(`http://127.0.0.1:${srv.port}/boom`)).status).toBe(500);
      expect(failures).toEqual(['boom']);
      expect((await fetch(`http://127.0.0.1:${srv.port}/n`, { method: 'POST' })).status).toBe(405);
    } finally {
      await srv.close();
    }
  });
});
