// A handler that answers by forwarding to one of several equivalent upstream servers (the monitor's one API
// address in front of the sinks, each of which answers any movie). Round robin; the next upstream on a
// connection error or a 503; responses piped through (never buffered), server-sent-event streams included.
import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';
import { Handler, sendText } from './http-server';

export interface ForwardOptions {
  /**
   * Most time (ms) a forwarded request may take, from its arrival to the upstream's response headers (every
   * upstream tried included) and, for a response that is not an event stream, to its last byte. Headers not
   * there by then: 504; a body not finished by then is cut off. An event stream is unbounded once its headers
   * are there.
   */
  timeoutMs: number;
  /** Most forwarded requests in progress at once, event streams included; more are answered 503. */
  maxConcurrent: number;
  /**
   * Told when an upstream starts failing (connection error or 503; `reason` says which) and when it answers
   * again: once per change, not per request.
   */
  onUpstreamChange?: (upstream: string, up: boolean, reason?: string) => void;
}

/** Request headers that reach the upstream (anything else, hop-by-hop ones above all, does not). */
const REQUEST_HEADERS = ['accept', 'last-event-id', 'if-none-match', 'user-agent'] as const;
/** Response headers that reach the client. */
const RESPONSE_HEADERS = ['content-type', 'content-length', 'retry-after', 'cache-control', 'etag', 'last-modified'] as const;

interface Upstream {
  base: URL;
  /** The base's path without its trailing slash, prefixed to the request's path. */
  prefix: string;
  up: boolean;
}

const isEventStream = (r: IncomingMessage) => /^text\/event-stream\b/i.test(r.headers['content-type'] ?? '');

/**
 * Forwards each request (its path under each upstream's base URL, and its query) to `upstreams` (http or
 * https base URLs; at least one), starting at the next one in turn and moving on to the next after a
 * connection error or a 503 (the last one's 503 is answered as it is; only connection errors: 502).
 * Status, body and the response headers that matter (content-type, retry-after, …) pass through. The
 * client going away closes the upstream request, and the upstream ending or failing ends the client's
 * response. Throws on a base URL it cannot use.
 */
export function forwardTo(upstreams: readonly string[], opts: ForwardOptions): Handler {
  if (upstreams.length === 0) throw new Error('forwardTo: no upstream');
  if (!(opts.timeoutMs > 0) || !(opts.maxConcurrent >= 1))
    throw new Error(`forwardTo: timeoutMs (${opts.timeoutMs}) must be above 0 and maxConcurrent (${opts.maxConcurrent}) at least 1`);
  const list: Upstream[] = upstreams.map((u) => {
    let base: URL;
    try {
      base = new URL(u);
    } catch {
      throw new Error(`forwardTo: ${JSON.stringify(u)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new Error(`forwardTo: ${JSON.stringify(u)}: only http: and https: upstreams`);
    if (base.search || base.hash) throw new Error(`forwardTo: ${JSON.stringify(u)}: a base URL has no query or fragment`);
    return { base, prefix: base.pathname.replace(/\/+$/, ''), up: true };
  });
  // Keep-alive connections to the upstreams; free ones do not hold the process open (Node unrefs them).
  const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };
  let next = 0;
  let inFlight = 0;

  const mark = (u: Upstream, up: boolean, reason?: string) => {
    if (u.up === up) return;
    u.up = up;
    opts.onUpstreamChange?.(u.base.href, up, reason);
  };

  return (req, res, url) => {
    if (inFlight >= opts.maxConcurrent) {
      return void res
        .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' })
        .end(`too many API requests in progress (${opts.maxConcurrent})\n`);
    }
    inFlight++;
    const start = next;
    next = (next + 1) % list.length;

    let current: ClientRequest | undefined;
    let done = false;
    // Whatever ends the exchange (answered, client gone, deadline) ends it once.
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
      clearTimeout(deadline);
      current?.destroy();
    };
    res.once('close', finish);
    const deadline = setTimeout(() => {
      if (done) return;
      if (!res.headersSent) sendText(res, 504, `no upstream answered within ${opts.timeoutMs} ms`);
      else res.destroy();
      finish();
    }, opts.timeoutMs);

    const headers: Record<string, string> = {};
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    let retryAfter: string | undefined;

    const attempt = (i: number, retriedStale: boolean) => {
      if (done) return;
      const u = list[(start + i) % list.length]!;
      const last = i === list.length - 1;
      const target = new URL(u.base.href);
      target.pathname = u.prefix + url.pathname;
      target.search = url.search;
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let up: ClientRequest;
      try {
        up = send(target, { method: req.method, headers, agent: agents[target.protocol as 'http:' | 'https:'] });
      } catch (e) {
        // E.g. a header value the client side refuses: this runs in event handlers too, where a throw is a crash.
        return sendText(res, 400, `cannot forward this request: ${(e as Error).message}`);
      }
      current = up;
      let responded = false;
      up.on('error', (e: NodeJS.ErrnoException) => {
        // After its response, a request's failure is its response's (handled by the pipeline below).
        if (done || current !== up || responded) return;
        // A kept-alive connection the upstream closed just as it was reused: the same upstream again, once.
        if (up.reusedSocket && e.code === 'ECONNRESET' && !retriedStale) return attempt(i, true);
        mark(u, false, e.code ?? e.message);
        if (!last) return attempt(i + 1, false);
        if (retryAfter !== undefined)
          return void res
            .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': retryAfter })
            .end('no upstream available\n');
        sendText(res, 502, `no upstream answered (${list.length} tried; last: ${e.code ?? e.message})`);
      });
      up.on('response', (ur) => {
        responded = true;
        // Failures of a response nobody pipes (dropped below) must not be unhandled 'error' events.
        ur.on('error', () => undefined);
        if (done) return void ur.resume();
        if (ur.statusCode === 503 && !last) {
          mark(u, false, '503');
          retryAfter = typeof ur.headers['retry-after'] === 'string' ? ur.headers['retry-after'] : retryAfter;
          // Read and dropped: the connection goes back to the pool.
          ur.resume();
          return attempt(i + 1, false);
        }
        if (ur.statusCode !== 503) mark(u, true);
        const out: Record<string, string> = {};
        for (const h of RESPONSE_HEADERS) {
          const v = ur.headers[h];
          if (typeof v === 'string') out[h] = v;
        }
        const stream = isEventStream(ur);
        if (stream) {
          // A push stream lives as long as both ends do: no deadline, and its headers go out at once.
          clearTimeout(deadline);
          out['x-accel-buffering'] = 'no';
        }
        res.writeHead(ur.statusCode ?? 502, out);
        if (stream) res.flushHeaders();
        // Backpressure both ways: a client that stops reading pauses the upstream (whose own per-client
        // bound then applies); either side failing or closing destroys the other.
        pipeline(ur, res, () => finish());
      });
      up.end();
    };
    attempt(0, false);
  };
}
