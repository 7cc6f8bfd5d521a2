// The monitor against the real broker and real sockets: no request crashes it, an undecodable meta
// report is skipped and counted once, event streams are bounded in number and in buffered bytes.
import { connect, Socket } from 'node:net';
import * as fc from 'fast-check';
import { kafkaClient, MetaReporter, rawSink, waitForLeaders } from '@movie-stream/messaging';
import { createLogger } from '@movie-stream/logging';
import { create, MetaReport_Action, MetaReportSchema, toBinary } from '@movie-stream/schema';
import { fuzzHttpServer, sendRaw, startHttpServer } from '@movie-stream/observability';
import { startMonitor, Monitor } from './monitor';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const fresh = (what: string) => `it-monitor-${what}-${Date.now().toString(36)}-${process.pid}`;

// Through messaging's factory (no raw KafkaJS here): topics created and deleted, raw bytes produced.
const kafka = kafkaClient({ brokers }, 'monitor-int-test', { warn: () => undefined });
const created: string[] = [];

let monitor: Monitor | undefined;
afterEach(async () => {
  await monitor?.close();
  monitor = undefined;
});
afterAll(async () => {
  if (created.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();
});

/** Polls `check` until it returns a value (not undefined) or `limitMs` passes. */
async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('monitor HTTP', () => {
  it('answers 400 to a request target new URL cannot parse, and keeps serving', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('url')}.meta`, port: 0, pollMs: 60_000 });
    expect(await sendRaw(monitor.port, 'GET http://h:99999/ HTTP/1.1\r\nhost: x\r\n\r\n')).toEqual({ status: 400 });
    for (const q of ['minutes=abc', 'minutes=-5', 'minutes=0', 'by=nobody']) {
      expect((await fetch(`${monitor.url}api/throughput?${q}`)).status).toBe(400);
    }
    expect((await fetch(`${monitor.url}api/throughput?minutes=5&by=topic`)).status).toBe(200);
  });

  it('answers /api/movies and what is under it from the sinks of MONITOR_API_UPSTREAMS in turn, event streams included; without them 404', async () => {
    // Two stand-ins for the sinks: each says which it is and what it was asked; /events is a push stream.
    const sinks = await Promise.all(
      ['sink-1', 'sink-2'].map((name) =>
        startHttpServer({
          host: '127.0.0.1',
          port: 0,
          routes: {},
          fallback: (_req, res, url) => {
            if (url.pathname.endsWith('/events')) {
              res.writeHead(200, { 'content-type': 'text/event-stream' });
              return void res.write(`data: ${JSON.stringify({ name })}\n\n`);
            }
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, path: url.pathname + url.search }));
          },
        }),
      ),
    );
    try {
      monitor = await startMonitor({
        brokers,
        metaPrefix: `${fresh('api')}.meta`,
        port: 0,
        pollMs: 60_000,
        apiUpstreams: sinks.map((s) => `http://127.0.0.1:${s.port}`),
      });
      const answers: Array<{ name: string; path: string }> = [];
      for (const path of ['/api/movies/1', '/api/movies?top=10&minRatings=50', '/api/movies/1', '/api/movies?top=10&minRatings=50']) {
        const r = await fetch(`${monitor.url}${path.slice(1)}`);
        expect([path, r.status, r.headers.get('content-type')]).toEqual([path, 200, 'application/json']);
        answers.push((await r.json()) as { name: string; path: string });
      }
      expect(answers.map((a) => a.path)).toEqual([
        '/api/movies/1',
        '/api/movies?top=10&minRatings=50',
        '/api/movies/1',
        '/api/movies?top=10&minRatings=50',
      ]);
      expect(answers.map((a) => a.name).sort()).toEqual(['sink-1', 'sink-1', 'sink-2', 'sink-2']);

      const events = new AbortController();
      const stream = await fetch(`${monitor.url}api/movies/1/events`, { signal: events.signal });
      expect([stream.status, stream.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
      const first = new TextDecoder().decode((await stream.body!.getReader().read()).value);
      expect(first).toMatch(/^data: \{"name":"sink-[12]"\}\n\n$/);
      events.abort();

      // The monitor's own API is its own; a path that only starts like the movies API is not forwarded.
      expect((await fetch(`${monitor.url}api/status`)).status).toBe(200);
      expect((await fetch(`${monitor.url}api/moviesx`)).status).toBe(404);
      await monitor.close();
      monitor = await startMonitor({ brokers, metaPrefix: `${fresh('noapi')}.meta`, port: 0, pollMs: 60_000 });
      expect((await fetch(`${monitor.url}api/movies/1`)).status).toBe(404);
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  });

  it('gives the dashboard a line to draw for a one-second run: the zero seconds around it', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('short')}.meta`, port: 0, pollMs: 60_000 });
    const second = Math.floor(Date.now() / 1000) * 1000 - 3000;
    monitor.series.add({
      service: 'rating-producer',
      instanceId: 'p',
      action: 'published',
      topic: 'ratings',
      windowStartMs: second,
      windowEndMs: second + 1000,
      count: 5000,
      bytes: 1,
    });
    monitor.series.add({
      service: 'mean-rating-processor',
      instanceId: 'c',
      action: 'consumed',
      topic: 'ratings',
      windowStartMs: second,
      windowEndMs: second + 1000,
      count: 5000,
      bytes: 1,
    });
    const snap = (await (await fetch(`${monitor.url}api/state`)).json()) as { throughput: { points: unknown }[] };
    // The former name of the route answers the same (its throughput: the cluster part moves with polls).
    expect(((await (await fetch(`${monitor.url}api/snapshot`)).json()) as typeof snap).throughput).toEqual(snap.throughput);
    expect(snap.throughput.map((l) => l.points)).toEqual([
      [
        [second - 1000, 0],
        [second, 5000],
        [second + 1000, 0],
      ],
      [
        [second - 1000, 0],
        [second, 5000],
        [second + 1000, 0],
      ],
    ]);
  });

  it('survives thousands of generated malformed requests', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('fuzz')}.meta`, port: 0, pollMs: 60_000 });
    const paths = [
      '/',
      '/dashboard.js',
      '/api/state',
      '/api/snapshot',
      '/api/throughput',
      '/api/summary',
      '/api/lag',
      '/api/status',
      '/api/brokers',
      '/api/topics',
      '/events',
      '/metrics',
      '/healthz',
      '/uPlot.min.css',
    ];
    const r = await fuzzHttpServer(fc, { port: monitor.port, paths, batches: 40, batchSize: 50 });
    expect(r.requests).toBe(2000);
    expect(r.statuses.get(200)).toBeGreaterThan(0);
    expect(r.statuses.get(400)).toBeGreaterThan(0);
  });
});

describe('monitor meta reading', () => {
  it("skips an undecodable meta report and counts it once; totals are exactly the valid reports'", async () => {
    const prefix = `${fresh('garbage')}.meta`;
    const admin = kafka.admin();
    await admin.connect();
    // Our own wait: KafkaJS's waitForLeaders gives up on a fresh broker that briefly answers "does not host".
    await admin.createTopics({ topics: [{ topic: `${prefix}.published` }, { topic: `${prefix}.consumed` }], waitForLeaders: false });
    await waitForLeaders(admin, [`${prefix}.published`, `${prefix}.consumed`]);
    await admin.disconnect();
    created.push(`${prefix}.published`, `${prefix}.consumed`);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    const report = (i: number, count: number) => ({
      value: Buffer.from(
        toBinary(
          MetaReportSchema,
          create(MetaReportSchema, {
            service: 'rating-producer',
            instanceId: 'p1',
            action: MetaReport_Action.PUBLISHED,
            topic: 'ratings',
            windowStartMs: BigInt(t0 + i * 1000),
            windowEndMs: BigInt(t0 + (i + 1) * 1000),
            count: BigInt(count),
            bytes: BigInt(count * 10),
          }),
        ),
      ),
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); // a retried send must not count twice
    await producer.connect();
    try {
      await producer.send({
        topic: `${prefix}.published`,
        messages: [report(0, 100), report(1, 200), { value: Buffer.from('not a protobuf') }, report(2, 300)],
      });
      const warnings: string[] = [];
      monitor = await startMonitor({
        brokers,
        metaPrefix: prefix,
        port: 0,
        pollMs: 60_000,
        logger: { info: () => undefined, warn: (m) => warnings.push(m) },
      });
      const m = monitor;
      const total = () => m.series.summary().reduce((s, r) => s + r.messages, 0);
      await waitFor('the three valid reports', () => (total() >= 600 ? true : undefined));
      // A report after the bad one, read live: once it is in, everything before it has been read.
      await producer.send({ topic: `${prefix}.published`, messages: [report(3, 400)] });
      await waitFor('the report sent after the start', () => (total() >= 1000 ? true : undefined));
      expect(m.series.summary()).toEqual([expect.objectContaining({ service: 'rating-producer', messages: 1000, bytes: 10_000 })]);
      const health = await (await fetch(`${m.url}healthz`)).json();
      expect(health).toMatchObject({ metaReports: 4, undecodable: 1 });
      const metrics = await (await fetch(`${m.url}metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(`movie_stream_undecodable_messages_total\\{topic="${prefix.replace(/\./g, '\\.')}\\.published"[^}]*\\} 1\\n`),
      );
      expect(warnings.filter((w) => w.includes('undecodable'))).toHaveLength(1);
      expect(warnings.find((w) => w.includes('undecodable'))).toMatch(/published\[0\]@2: /);
    } finally {
      await producer.disconnect();
    }
  });
});

describe('monitor partition restores', () => {
  it('shows a reported restore in progress, then finished, in /api/state; its reports add nothing to the totals', async () => {
    const prefix = `${fresh('restores')}.meta`;
    const admin = kafka.admin();
    await admin.connect();
    // Our own wait: KafkaJS's waitForLeaders gives up on a fresh broker that briefly answers "does not host".
    await admin.createTopics({ topics: [{ topic: `${prefix}.published` }, { topic: `${prefix}.consumed` }], waitForLeaders: false });
    await waitForLeaders(admin, [`${prefix}.published`, `${prefix}.consumed`]);
    await admin.disconnect();
    created.push(`${prefix}.published`, `${prefix}.consumed`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // What a stateful consumer's reporter sends (runStatefulConsumer calls it from PartitionedState's hooks).
    const reporter = new MetaReporter({
      service: 'mean-rating-processor',
      instanceId: 'proc-1',
      topics: { metaPublished: `${prefix}.published`, metaConsumed: `${prefix}.consumed` },
      windowMs: 1000,
      sink: rawSink(producer),
      logger: createLogger({ service: 't', level: 'error', format: 'json' }),
    });
    try {
      monitor = await startMonitor({ brokers, metaPrefix: prefix, port: 0, pollMs: 60_000 });
      const m = monitor;
      type Restores = { inProgress: Record<string, unknown>[]; recent: Record<string, unknown>[] };
      const restores = async () => ((await (await fetch(`${m.url}api/state`)).json()) as { restores: Restores }).restores;
      reporter.record('consumed', 'ratings', 250, 2500);
      const group = 'movie-stream.mean-rating-processor';
      reporter.restoreStarted({ groupId: group, topic: 'ratings', partition: 3 });
      const running = await waitFor('the restore in progress in /api/state', async () => {
        const r = await restores();
        return r.inProgress.length ? r : undefined;
      });
      expect(running.inProgress).toEqual([
        {
          service: 'mean-rating-processor',
          instanceId: 'proc-1',
          groupId: group,
          topic: 'ratings',
          partition: 3,
          startedMs: expect.any(Number),
        },
      ]);
      expect(running.recent).toEqual([]);
      reporter.restoreFinished({
        groupId: group,
        topic: 'ratings',
        partition: 3,
        source: 'changelog',
        recordsRead: 4321,
        rowsRestored: 987,
        ms: 42,
      });
      await reporter.close();
      const done = await waitFor('the finished restore and the consumed count', async () => {
        const r = await restores();
        return r.recent.length && m.series.summary().length ? r : undefined;
      });
      expect(done.inProgress).toEqual([]);
      expect(done.recent).toEqual([
        expect.objectContaining({
          instanceId: 'proc-1',
          groupId: group,
          partition: 3,
          source: 'changelog',
          recordsRead: 4321,
          rowsRestored: 987,
          ms: 42,
        }),
      ]);
      const [rec] = done.recent as { startedMs: number; finishedMs: number }[];
      expect(rec.finishedMs - rec.startedMs).toBe(42);
      expect(rec.startedMs).toBeGreaterThanOrEqual(running.inProgress[0].startedMs as number);
      // The meta totals are the 250 consumed messages only, as the reporter's own totals say.
      expect(m.series.summary().map((x) => [x.service, x.action, x.topic, x.messages])).toEqual([
        ['mean-rating-processor', 'consumed', 'ratings', 250],
      ]);
      expect([...reporter.totals]).toEqual([['consumed:ratings', 250]]);
      expect(await (await fetch(`${m.url}healthz`)).json()).toMatchObject({ metaReports: 1, restoreReports: 2, undecodable: 0 });
    } finally {
      await producer.disconnect();
    }
  });
});

/** An event-stream request on a raw socket; resolves with the status once the response head is in. */
function openEvents(port: number, read: boolean): Promise<{ socket: Socket; status: number; bytes: () => number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    let bytes = 0;
    let resolved = false;
    socket.on('error', (e) => (resolved ? undefined : reject(e)));
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      if (resolved) return;
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!m) return;
      resolved = true;
      // A client that stops reading: its socket is paused, the kernel buffers fill, then the server's.
      if (!read) socket.pause();
      resolve({ socket, status: Number(m[1]), bytes: () => bytes });
    });
    socket.write('GET /events HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  });
}

describe('monitor event streams', () => {
  it('answers 503 beyond DASHBOARD_MAX_CLIENTS and takes a client again once one leaves', async () => {
    monitor = await startMonitor({ brokers, metaPrefix: `${fresh('cap')}.meta`, port: 0, pollMs: 60_000, maxClients: 2 });
    const m = monitor;
    const a = await openEvents(m.port, true);
    const b = await openEvents(m.port, true);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await openEvents(m.port, true);
    expect(c.status).toBe(503);
    c.socket.destroy();
    a.socket.destroy();
    const d = await waitFor('a free slot after a client left', async () => {
      const r = await openEvents(m.port, true);
      if (r.status === 200) return r;
      r.socket.destroy();
      return undefined;
    });
    b.socket.destroy();
    d.socket.destroy();
    const metrics = await (await fetch(`${m.url}metrics`)).text();
    expect(metrics).toMatch(/movie_stream_dashboard_clients_refused_total\{reason="full"[^}]*\} [1-9]/);
  });

  it('closes a client that stops reading once its unsent bytes pass the bound, and keeps serving the others', async () => {
    const warnings: string[] = [];
    monitor = await startMonitor({
      brokers,
      metaPrefix: `${fresh('slow')}.meta`,
      port: 0,
      pollMs: 60_000,
      clientBufferBytes: 256 * 1024,
      logger: { info: () => undefined, warn: (w) => warnings.push(w) },
    });
    const m = monitor;
    // Large snapshots (many series over ten minutes) fill the socket buffers within a few pushes.
    const now = Math.floor(Date.now() / 1000) * 1000;
    for (let s = 0; s < 200; s++) {
      for (let t = 0; t < 300; t++)
        m.series.add({
          service: `svc-${s}`,
          instanceId: 'i',
          action: 'published',
          topic: 't',
          windowStartMs: now - t * 1000,
          windowEndMs: now - t * 1000 + 1000,
          count: 1 + s,
          bytes: 1,
        });
    }
    const slow = await openEvents(m.port, false);
    const fast = await openEvents(m.port, true);
    expect([slow.status, fast.status]).toEqual([200, 200]);
    const closed = new Promise<void>((r) => slow.socket.once('close', () => r()));
    // The server destroys the slow stream: the paused socket sees the reset or the end once resumed.
    await waitFor('the slow client to be dropped', async () => {
      const metrics = await (await fetch(`${m.url}metrics`)).text();
      return /movie_stream_dashboard_clients_refused_total\{reason="slow"[^}]*\} 1\n/.test(metrics) ? true : undefined;
    });
    slow.socket.resume();
    await closed;
    // The reading client is still served: more updates keep arriving after the slow one was dropped.
    const before = fast.bytes();
    await waitFor('another update to the reading client', () => (fast.bytes() > before ? true : undefined));
    expect(fast.socket.destroyed).toBe(false);
    expect(warnings.filter((w) => /closed a dashboard event stream: \d+ bytes unsent \(limit 262144\)/.test(w))).toHaveLength(1);
    fast.socket.destroy();
  });
});

describe('monitor cluster view', () => {
  it("shows each group's members and the partitions each holds: disjoint, covering the topic", async () => {
    const scope = `${fresh('members')}.`;
    const topic = `${scope}t`;
    const group = `${scope}group`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: false });
    await waitForLeaders(admin, [topic]);
    await admin.disconnect();
    created.push(topic);
    // One message per partition: the group commits, and the poller shows only groups that have.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: Buffer.from('x') })) });
    await producer.disconnect();
    const clients = ['a', 'b'].map((n) => `${scope}client-${n}`);
    const consumers = clients.map((clientId) =>
      kafkaClient({ brokers }, clientId, { warn: () => undefined }).consumer({
        groupId: group,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
      }),
    );
    try {
      for (const c of consumers) {
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        await c.run({ eachMessage: async () => undefined });
      }
      monitor = await startMonitor({ brokers, metaPrefix: `${scope}meta`, scope, port: 0, pollMs: 500 });
      const m = monitor;
      type Member = { clientId: string; host: string; assignment: Record<string, number[]> };
      const members = await waitFor(
        'both members holding partitions in /api/state',
        async () => {
          const s = (await (await fetch(`${m.url}api/state`)).json()) as {
            groups: { groupId: string; state?: string; members: Member[] }[];
          };
          const g = s.groups.find((x) => x.groupId === group);
          const held = g?.members.map((x) => x.assignment[topic] ?? []) ?? [];
          return g?.state === 'Stable' && held.length === 2 && held.every((h) => h.length > 0) ? g.members : undefined;
        },
        90_000,
      );
      expect(members.map((x) => x.clientId)).toEqual(clients);
      const [a, b] = members.map((x) => x.assignment[topic]!);
      expect(a!.filter((p) => b!.includes(p))).toEqual([]);
      expect([...a!, ...b!].sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await Promise.all(consumers.map((c) => c.disconnect()));
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteGroups([group]).catch(() => undefined);
      await cleanup.disconnect();
    }
  });
});
