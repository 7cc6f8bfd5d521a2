// Fuzzing an HTTP server over raw TCP: generated request lines, headers and query strings that no
// HTTP client library would send. For the tests of every server built on startHttpServer. fast-check is
// passed in (a dev dependency: a type-only import keeps it out of the services' bundles).
import { connect } from 'node:net';
import type * as FastCheck from 'fast-check';

export interface RawResponse {
  /** The status code of the first response line; undefined when the server closed without answering. */
  status?: number;
  timedOut?: boolean;
}

/**
 * Writes `bytes` to host:port, half-closes, and resolves with the first response's status as soon as its
 * status line arrives (long-lived responses such as server-sent events are not waited for), or when the
 * server closes. `timeoutMs` only guards against a server that neither answers nor closes.
 */
export function sendRaw(port: number, bytes: Buffer | string, opts: { host?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, opts.host ?? '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (r: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ timedOut: true }), opts.timeoutMs ?? 10_000);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m) finish({ status: Number(m[1]) });
      else if (got.includes('\r\n')) finish({});
    });
    // ECONNRESET after the server destroyed the socket is an answer too: it closed.
    socket.on('error', () => finish({}));
    socket.on('close', () => finish({}));
  });
}

/** Generated raw requests: a mix of valid ones (with random query strings) and malformed ones. */
export function rawRequests(fc: typeof FastCheck, paths: string[]): FastCheck.Arbitrary<string> {
  const printable = fc.string({ unit: 'binary-ascii', maxLength: 30 });
  const anyText = fc.string({ unit: 'binary', maxLength: 60 });
  const pct = fc.constantFrom('%', '%z', '%zz', '%00', '%ff', '%C3%28', '%E2%82', '%%', '%2', '+', '&&', '==', '#', '?');
  const queryValue = fc.oneof(
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom('', '-1', '0', '1e308', 'NaN', 'Infinity', '10abc', 'instance', 'topic', 'service', 'x'.repeat(2000)),
    printable,
    pct,
  );
  const queryKey = fc.oneof(fc.constantFrom('minutes', 'by', 'since', ''), printable, pct);
  const query = fc
    .array(
      fc.tuple(queryKey, queryValue).map(([k, v]) => `${k}=${v}`),
      { maxLength: 4 },
    )
    .map((kv) => kv.join('&'));
  const path = fc.oneof(
    fc.constantFrom(...paths),
    fc.constantFrom('/', '//', '/..', '/%2e%2e/', '/nope', '*', ''),
    printable.map((s) => `/${s}`),
  );
  const target = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(path, query).map(([p, q]) => (q ? `${p}?${q}` : p)) },
    // Absolute-form targets: an invalid port makes `new URL` throw.
    fc
      .tuple(
        fc.constantFrom('http://h:99999', 'http://h:-1', 'http://[::1', 'http://', 'http:// x', 'https://a@b@c', 'foo:', 'http://h:80'),
        path,
        query,
      )
      .map(([o, p, q]) => `${o}${p}${q ? `?${q}` : ''}`),
    anyText,
  );
  const method = fc.oneof(
    { weight: 5, arbitrary: fc.constant('GET') },
    fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'get', 'G ET', ''),
    printable,
  );
  const version = fc.oneof(
    { weight: 5, arbitrary: fc.constant('HTTP/1.1') },
    fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 extra', 'HTTP/', 'http/1.1', ''),
    printable,
  );
  const header = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('host: 127.0.0.1', 'accept: */*', 'connection: close', 'connection: keep-alive') },
    fc.constantFrom(
      'content-length: 5',
      'content-length: -1',
      'content-length: 1, 2',
      'transfer-encoding: chunked',
      'transfer-encoding: gzip, chunked',
      'host:',
      'host: a\u0000b',
      'x: \u00ff\u00fe',
      'expect: 100-continue',
      'upgrade: websocket',
      'content-length: 99999999999999999999',
      ': novalue',
      'x'.repeat(20_000) + ': y',
    ),
    fc.tuple(printable, anyText).map(([k, v]) => `${k}: ${v}`),
    anyText,
  );
  const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r', '');
  const body = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, fc.constantFrom('0\r\n\r\n', 'zz\r\nabc\r\n', 'hello'), anyText);
  const malformed = fc
    .tuple(method, target, version, fc.array(header, { maxLength: 5 }), eol, fc.boolean(), body)
    .map(([m, t, v, hs, nl, withHost, b]) => [`${m} ${t} ${v}`, ...(withHost ? ['host: 127.0.0.1'] : []), ...hs].join(nl) + nl + nl + b);
  // Well-formed requests with odd targets and query strings reach the handlers themselves.
  const safeHeader = fc.constantFrom(
    'accept: */*',
    'connection: close',
    'connection: keep-alive',
    'accept-encoding: gzip',
    'x-forwarded-for: 1.2.3.4',
  );
  const wellFormed = fc
    .tuple(fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST'), target, fc.array(safeHeader, { maxLength: 3 }))
    .map(([m, t, hs]) => [`${m} ${t.replace(/[\s\x00-\x20\x7f-\xff]/g, '')} HTTP/1.1`, 'host: 127.0.0.1', ...hs].join('\r\n') + '\r\n\r\n');
  return fc.oneof({ weight: 1, arbitrary: malformed }, { weight: 1, arbitrary: wellFormed });
}

export interface FuzzResult {
  requests: number;
  statuses: Map<number | 'closed' | 'timeout', number>;
}

/**
 * Sends `batches` batches of `batchSize` generated requests (each batch concurrently) and, after each
 * batch, a well-formed GET /healthz that must be answered. Throws (with fast-check's shrunk
 * counterexample) when the server stops answering or answers a generated request with a 500.
 */
export async function fuzzHttpServer(
  fc: typeof FastCheck,
  opts: { port: number; paths: string[]; batches?: number; batchSize?: number; seed?: number },
): Promise<FuzzResult> {
  const result: FuzzResult = { requests: 0, statuses: new Map() };
  const count = (k: number | 'closed' | 'timeout') => result.statuses.set(k, (result.statuses.get(k) ?? 0) + 1);
  await fc.assert(
    fc.asyncProperty(
      fc.array(rawRequests(fc, opts.paths), { minLength: opts.batchSize ?? 50, maxLength: opts.batchSize ?? 50 }),
      async (batch) => {
        const answers = await Promise.all(batch.map((r) => sendRaw(opts.port, Buffer.from(r, 'latin1'))));
        result.requests += batch.length;
        answers.forEach((a) => count(a.timedOut ? 'timeout' : (a.status ?? 'closed')));
        const failed = answers.findIndex((a) => a.status === 500);
        if (failed >= 0) throw new Error(`answered 500 to ${JSON.stringify(batch[failed].slice(0, 300))}`);
        const health = await sendRaw(opts.port, 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
        if (health.status !== 200 && health.status !== 503)
          throw new Error(`GET /healthz after the batch: ${health.timedOut ? 'no answer' : `status ${health.status ?? 'none (closed)'}`}`);
      },
    ),
    { numRuns: opts.batches ?? 40, seed: opts.seed, endOnFailure: false },
  );
  return result;
}
