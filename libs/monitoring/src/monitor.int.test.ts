// The monitor against the real broker and real sockets: no request crashes it.
import * as fc from 'fast-check';
import { fuzzHttpServer, sendRaw } from '@movie-stream/observability';
import { startMonitor, Monitor } from './monitor';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const fresh = (what: string) => `it-monitor-${what}-${Date.now().toString(36)}-${process.pid}`;

let monitor: Monitor | undefined;
afterEach(async () => {
  await monitor?.close();
  monitor = undefined;
});

describe('monitor HTTP', () => {
  it('answers 400 to a request target new URL cannot parse, and keeps serving', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('url')}.meta`, port: 0, pollMs: 60_000 });
    expect(await sendRaw(monitor.port, 'GET http://h:99999/ HTTP/1.1\r\nhost: x\r\n\r\n')).toEqual({ status: 400 });
    for (const q of ['minutes=abc', 'minutes=-5', 'minutes=0', 'by=nobody']) {
      expect((await fetch(`${monitor.url}api/throughput?${q}`)).status).toBe(400);
    }
    expect((await fetch(`${monitor.url}api/throughput?minutes=5&by=topic`)).status).toBe(200);
  });

  it('survives thousands of generated malformed requests', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('fuzz')}.meta`, port: 0, pollMs: 60_000 });
    const paths = ['/', '/api/snapshot', '/api/throughput', '/api/summary', '/api/lag', '/api/status', '/api/brokers', '/api/topics', '/events', '/metrics', '/healthz', '/uPlot.min.css'];
    const r = await fuzzHttpServer(fc, { port: monitor.port, paths, batches: 40, batchSize: 50 });
    expect(r.requests).toBe(2000);
    expect(r.statuses.get(200)).toBeGreaterThan(0);
    expect(r.statuses.get(400)).toBeGreaterThan(0);
  });
});
