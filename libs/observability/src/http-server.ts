// The one HTTP server helper of the project (the services' /metrics and /healthz, the monitor's dashboard
// and API): no request may crash a server, so URL parsing, query validation and handler errors are
// handled here once, and bad input is answered 400 instead of throwing.
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Thrown by a handler (or the query helpers) to answer `status` with `message` as plain text. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Sent with the answer, e.g. `{ 'retry-after': '1' }` with a 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** When `port` is taken, take any free port instead of failing. */
  portFallback?: boolean;
  /** Exact paths (GET and HEAD only; other methods get 405). */
  routes: Record<string, Handler>;
  /** For paths not in `routes`; default 404. */
  fallback?: Handler;
  /** Told about handler failures (answered 500); default: none. */
  onError?: (e: Error, req: IncomingMessage) => void;
  /** Keep the process alive while serving (default false: a service ends when its work ends). */
  ref?: boolean;
}

export interface HttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * The request target as a URL, or undefined when it cannot be parsed (e.g. `http://h:99999/`, an
 * absolute-form target with an invalid port: `new URL` throws on it).
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(text.endsWith('\n') ? text : `${text}\n`);
}

export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** An integer query parameter in [min, max]; `def` when absent; HttpError 400 otherwise. */
export function intParam(url: URL, name: string, def: number, range: { min: number; max: number }): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new HttpError(400, `${name} must be an integer from ${range.min} to ${range.max} (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
  return n;
}

/** One of `allowed`; `def` when absent; HttpError 400 otherwise. */
export function enumParam<T extends string>(url: URL, name: string, allowed: readonly T[], def: T): T {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  if (!(allowed as readonly string[]).includes(raw))
    throw new HttpError(400, `${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw.slice(0, 40))})`);
  return raw as T;
}

function answerError(res: ServerResponse, e: unknown, req: IncomingMessage, onError?: HttpServerOptions['onError']): void {
  const status = e instanceof HttpError ? e.status : 500;
  if (status === 500) onError?.(e as Error, req);
  // Headers already out (a stream that failed half-way): all that is left is to cut the connection.
  if (res.headersSent) res.destroy();
  else if (e instanceof HttpError) sendText(res, status, e.message, e.headers);
  else sendText(res, status, 'internal error');
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const url = requestUrl(req);
    if (!url) return sendText(res, 400, 'bad request target');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const handler = opts.routes[url.pathname] ?? opts.fallback;
    if (!handler) return sendText(res, 404, 'not found');
    try {
      const done = handler(req, res, url);
      if (done) done.catch((e) => answerError(res, e, req, opts.onError));
    } catch (e) {
      answerError(res, e, req, opts.onError);
    }
  });
  // Requests Node's parser rejects (malformed request line or headers, oversized headers): 400 and close,
  // whatever state the socket is in; never an exception.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !socket.destroyed) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      // Written in one piece to an idle socket it reaches the kernel at once, before destroy (as Node does).
      socket.write(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  try {
    await listen(server, opts.port, opts.host);
  } catch (e) {
    if (!opts.portFallback || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    await listen(server, 0, opts.host);
  }
  if (!opts.ref) server.unref();
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Long-lived responses (server-sent events) would otherwise hold close() forever.
      server.closeAllConnections();
      return closed;
    },
  };
}
