// forwardTo against real HTTP servers on 127.0.0.1: the upstreams below and the gateway in front of them.
import { get, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { forwardTo, ForwardOptions } from './forward';
import { Handler, HttpServer, startHttpServer } from './http-server';

jest.setTimeout(20_000);

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

/** An upstream answering every path with `handler`. */
async function upstream(handler: Handler): Promise<HttpServer & { base: string }> {
  const s = await startHttpServer({ host: '127.0.0.1', port: 0, routes: {}, fallback: handler });
  open.push(s);
  return { ...s, base: `http://127.0.0.1:${s.port}` };
}

/** An upstream saying who it is and what it was asked. */
const named = (name: string) =>
  upstream((req, res, url) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-internal': 'not for clients' });
    res.end(JSON.stringify({ name, path: url.pathname + url.search, accept: req.headers.accept ?? null }));
  });

async function gateway(upstreams: string[], opts: Partial<ForwardOptions> = {}): Promise<number> {
  const s = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: {},
    fallback: forwardTo(upstreams, { timeoutMs: 5_000, maxConcurrent: 100, ...opts }),
  });
  open.push(s);
  return s.port;
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = await startHttpServer({ host: '127.0.0.1', port: 0, routes: {} });
  await s.close();
  return s.port;
}

/** A TCP server that answers anything with bytes that are not HTTP, then closes. */
async function garbageServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const s: TcpServer = createTcpServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.end('this is not HTTP\r\n\r\n');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  open.push({
    close: () => {
      sockets.forEach((c) => c.destroy());
      return new Promise<void>((r) => s.close(() => r()));
    },
  });
  return (s.address() as AddressInfo).port;
}

async function fetchText(port: number, path: string, headers: Record<string, string> = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** An event stream as the client reads it: each chunk as it arrives, and its end. */
function openStream(port: number, path: string) {
  const chunks: string[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const notify = () => waiters.splice(0).forEach((w) => w());
  let response!: IncomingMessage;
  const req = get({ host: '127.0.0.1', port, path });
  const headers = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (r) => {
      response = r;
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        chunks.push(c);
        notify();
      });
      r.on('error', () => undefined);
      r.on('close', () => {
        ended = true;
        notify();
      });
      resolve(r);
    });
  });
  const until = (cond: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (cond() ? resolve() : waiters.push(check));
      check();
    });
  return {
    headers,
    text: () => chunks.join(''),
    /** Resolves once the text read so far contains `s`. */
    received: (s: string) => until(() => chunks.join('').includes(s)),
    ended: () => until(() => ended),
    isEnded: () => ended,
    disconnect: () => {
      req.destroy();
      response?.destroy();
    },
  };
}

/** An event-stream upstream: its clients, to push to and to end; and a promise per client that closes. */
async function streamUpstream() {
  const clients: ServerResponse[] = [];
  const closed: Array<Promise<void>> = [];
  const waiters: Array<() => void> = [];
  const s = await upstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: first\n\n');
    clients.push(res);
    closed.push(new Promise((r) => req.on('close', () => r())));
    waiters.splice(0).forEach((w) => w());
  });
  return {
    ...s,
    clients,
    closed,
    /** Resolves once `n` clients have connected. */
    connected: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (clients.length >= n ? resolve() : waiters.push(check));
        check();
      }),
  };
}

describe('forwardTo', () => {
  it('takes the upstreams in turn, with the path (under a base path) and query, and passes status, body and the headers that matter', async () => {
    const [a, b, c] = [await named('a'), await named('b'), await named('c')];
    const port = await gateway([a.base, `${b.base}/`, `${c.base}/under/`]);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const r = await fetchText(port, '/api/movies/1?x=1&y=%20', { accept: 'application/json' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('x-internal')).toBeNull();
      const body = JSON.parse(r.body) as { name: string; path: string; accept: string };
      expect(body.path).toBe(`${body.name === 'c' ? '/under' : ''}/api/movies/1?x=1&y=%20`);
      expect(body.accept).toBe('application/json');
      seen[body.name] = (seen[body.name] ?? 0) + 1;
    }
    expect(seen).toEqual({ a: 2, b: 2, c: 2 });
  });

  it('passes an upstream answer other than 503 as it is (404 with its body, 400)', async () => {
    const u = await upstream(
      (_req, res, url) =>
        void res.writeHead(url.pathname.endsWith('/7') ? 404 : 400, { 'content-type': 'text/plain' }).end(`no ${url.pathname}`),
    );
    const port = await gateway([u.base]);
    expect(await fetchText(port, '/api/movies/7')).toMatchObject({ status: 404, body: 'no /api/movies/7' });
    expect(await fetchText(port, '/api/movies/x')).toMatchObject({ status: 400, body: 'no /api/movies/x' });
  });

  it('moves on past an upstream that is down or not HTTP, and says once that it is down', async () => {
    const live = await named('live');
    const [down, garbage] = [await closedPort(), await garbageServer()];
    const changes: Array<[string, boolean]> = [];
    const port = await gateway([`http://127.0.0.1:${down}`, live.base, `http://127.0.0.1:${garbage}`], {
      onUpstreamChange: (u, up) => changes.push([u, up]),
    });
    for (let i = 0; i < 6; i++) {
      const r = await fetchText(port, '/api/movies/2');
      expect([r.status, JSON.parse(r.body).name]).toEqual([200, 'live']);
    }
    expect(changes.sort()).toEqual(
      [
        [`http://127.0.0.1:${down}/`, false],
        [`http://127.0.0.1:${garbage}/`, false],
      ].sort(),
    );
  });

  it('asks the same upstream again when a kept-alive connection it reuses turns out closed', async () => {
    // Answers the first request of each connection (keeping it open) and drops the connection at the second:
    // what a server whose idle timeout ends just as the connection is reused looks like.
    let connections = 0;
    const sockets = new Set<Socket>();
    const s: TcpServer = createTcpServer((c) => {
      connections++;
      sockets.add(c);
      let requests = 0;
      c.on('data', () => {
        if (++requests > 1) return void c.destroy();
        c.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    open.push({
      close: () => {
        sockets.forEach((c) => c.destroy());
        return new Promise<void>((r) => s.close(() => r()));
      },
    });
    const port = await gateway([`http://127.0.0.1:${(s.address() as AddressInfo).port}`]);
    for (let i = 0; i < 3; i++) expect(await fetchText(port, '/api/movies/9')).toMatchObject({ status: 200, body: 'ok' });
    expect(connections).toBeGreaterThan(1);
  });

  it('answers 502 when no upstream can be reached, and goes on serving', async () => {
    const port = await gateway([`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await garbageServer()}`]);
    for (let i = 0; i < 3; i++) expect((await fetchText(port, '/api/movies/3')).status).toBe(502);
  });

  it('moves on past a 503; when every upstream answers 503, the last one is answered with its Retry-After', async () => {
    const busy = (name: string) =>
      upstream((_req, res) => void res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '7' }).end(`${name} rebalancing`));
    const live = await named('live');
    const [b1, b2] = [await busy('b1'), await busy('b2')];
    const port = await gateway([b1.base, live.base, b2.base]);
    for (let i = 0; i < 6; i++) {
      const r = await fetchText(port, '/api/movies?top=10');
      expect([r.status, JSON.parse(r.body)]).toEqual([200, { name: 'live', path: '/api/movies?top=10', accept: '*/*' }]);
    }
    const allBusy = await gateway([b1.base, b2.base]);
    for (let i = 0; i < 2; i++) {
      const r = await fetchText(allBusy, '/api/movies/4');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('7');
      expect(r.body).toMatch(/^b[12] rebalancing$/);
    }
    // A 503 and then nothing to connect to: still a 503 with the Retry-After it was given.
    const busyThenDown = await gateway([b1.base, `http://127.0.0.1:${await closedPort()}`]);
    const r = await fetchText(busyThenDown, '/api/movies/4');
    expect([r.status, r.headers.get('retry-after')]).toEqual([503, '7']);
  });

  it('answers 504 when the upstream does not answer in time, and closes the request to it', async () => {
    let asked!: () => void;
    const closed = new Promise<void>((r) => (asked = r));
    const hang = await upstream((req) => void req.on('close', () => asked()));
    const port = await gateway([hang.base], { timeoutMs: 200 });
    const r = await fetchText(port, '/api/movies/5');
    expect(r.status).toBe(504);
    await closed;
  });

  it('pipes an event stream through as it comes, past the timeout, until the upstream ends it', async () => {
    const up = await streamUpstream();
    const hang = await upstream(() => undefined);
    const port = await gateway([up.base], { timeoutMs: 200 });
    const hangPort = await gateway([hang.base], { timeoutMs: 200 });
    const client = openStream(port, '/api/movies/6/events');
    const res = await client.headers;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-cache');
    await client.received('data: first\n\n');
    // A request begun after the stream's, with the same timeout, has timed out: so has the stream's deadline.
    expect((await fetchText(hangPort, '/x')).status).toBe(504);
    expect(client.isEnded()).toBe(false);
    up.clients[0]!.write('data: second\n\n');
    await client.received('data: second\n\n');
    up.clients[0]!.end();
    await client.ended();
    expect(client.text()).toBe('data: first\n\ndata: second\n\n');
  });

  it('closes the upstream stream when the client disconnects, and the client stream when the upstream fails', async () => {
    const up = await streamUpstream();
    const port = await gateway([up.base], { maxConcurrent: 1 });
    const first = openStream(port, '/api/movies/8/events');
    await first.received('first');
    // The one slot is taken by the stream.
    const refused = await fetchText(port, '/api/movies/8/events');
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '1']);
    first.disconnect();
    await up.closed[0];

    // The slot is free again (the gateway frees it before the upstream can see the close).
    const second = openStream(port, '/api/movies/8/events');
    await second.received('first');
    await up.connected(2);
    up.clients[1]!.destroy();
    await second.ended();
    expect(second.text()).toBe('data: first\n\n');
  });

  it('bounds the requests in progress: over maxConcurrent is 503 at once, the others are served', async () => {
    const held: Array<() => void> = [];
    let arrived = 0;
    const waiters: Array<() => void> = [];
    const slow = await upstream((_req, res) => {
      arrived++;
      waiters.splice(0).forEach((w) => w());
      held.push(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('done'));
    });
    const port = await gateway([slow.base], { maxConcurrent: 2 });
    const pending = [fetchText(port, '/a'), fetchText(port, '/b')];
    await new Promise<void>((resolve) => {
      const check = () => (arrived >= 2 ? resolve() : waiters.push(check));
      check();
    });
    expect((await fetchText(port, '/c')).status).toBe(503);
    held.forEach((h) => h());
    expect((await Promise.all(pending)).map((r) => [r.status, r.body])).toEqual([
      [200, 'done'],
      [200, 'done'],
    ]);
  });

  it('refuses upstream lists it cannot use', () => {
    const opts = { timeoutMs: 1000, maxConcurrent: 1 };
    expect(() => forwardTo([], opts)).toThrow(/no upstream/);
    expect(() => forwardTo(['not a url'], opts)).toThrow(/not a URL/);
    expect(() => forwardTo(['ftp://127.0.0.1/'], opts)).toThrow(/only http/);
    expect(() => forwardTo(['http://127.0.0.1/?q=1'], opts)).toThrow(/no query/);
    expect(() => forwardTo(['http://127.0.0.1/'], { timeoutMs: 0, maxConcurrent: 1 })).toThrow(/timeoutMs/);
    expect(() => forwardTo(['http://127.0.0.1/'], { timeoutMs: 1, maxConcurrent: 0 })).toThrow(/maxConcurrent/);
  });
});
