import { ServiceMetrics, startHttpEndpoints } from './index';

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
