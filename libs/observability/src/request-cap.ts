// A cap on the requests a server works on at once: one more gets 503 with Retry-After at once, instead of
// queueing behind the others (and the service's own work) without bound.
import { Counter, type Registry } from 'prom-client';
import type { Handler } from './http-server';
import { registerReplacing, type MetricName } from './event-streams';

export interface RequestCapOptions {
  /** Most requests in progress at once over every handler this cap wraps. */
  maxConcurrent: number;
  /** Retry-After of the 503 (seconds); default 1. */
  retryAfterSeconds?: number;
  /** Names the requests in the 503's text: "too many <what> requests in progress (64)". Default "API". */
  what?: string;
  /** A counter of the requests refused, registered here. */
  registry?: Registry;
  refusedMetric?: MetricName;
}

export interface RequestCap {
  /** The handler, counted against the cap from its call until its response is finished (or the connection closes). */
  wrap(handler: Handler): Handler;
  /** Requests in progress now. */
  readonly inFlight: number;
}

/**
 * Wrap only the routes that should be capped: /metrics and /healthz must answer while a service is busy,
 * and long-lived streams (server-sent events) have a cap of their own (EventStreams).
 */
export function requestCap(opts: RequestCapOptions): RequestCap {
  let inFlight = 0;
  const refused: Counter | undefined = opts.refusedMetric
    ? registerReplacing(opts.registry, new Counter({ ...opts.refusedMetric, registers: [] }))
    : undefined;
  return {
    get inFlight() {
      return inFlight;
    },
    wrap: (handler) => (req, res, url) => {
      if (inFlight >= opts.maxConcurrent) {
        refused?.inc();
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(opts.retryAfterSeconds ?? 1) })
          .end(`too many ${opts.what ?? 'API'} requests in progress (${opts.maxConcurrent}): try again shortly\n`);
        return;
      }
      inFlight++;
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        inFlight--;
      };
      res.once('finish', release);
      res.once('close', release);
      // A handler's error is answered by startHttpServer: that response's end releases the slot too.
      return handler(req, res, url);
    },
  };
}
