// The push endpoints' engine: per distinct query one "watch" that re-evaluates the query when the table may
// have changed (a MovieChanges feed, and/or a poll) and sends the answer to its streams when it differs from
// the last one sent. Streams of the same query share the watch, so N clients of one query cost one query.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreams, HttpError, sseEvent, type Registry } from '@movie-stream/observability';
import type { MovieChanges } from './queries';

/**
 * A MovieChanges within one process: the sink publishes the movie ids of each applied batch, the push
 * endpoints listen. A listener's failure never reaches the publisher (the consumer's loop).
 */
export class MovieChangeFeed implements MovieChanges {
  private readonly listeners = new Set<(movieIds: readonly number[] | undefined) => void>();

  subscribe(listener: (movieIds: readonly number[] | undefined) => void): () => void {
    // A wrapper per subscription: the same function subscribed twice is two subscriptions.
    const l = (ids: readonly number[] | undefined) => listener(ids);
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  /** `undefined`: any movie may have changed. */
  publish(movieIds: readonly number[] | undefined): void {
    for (const l of [...this.listeners]) {
      try {
        l(movieIds);
      } catch {
        // the push side answers its own errors; the publisher goes on
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

export interface MoviePushOptions {
  /** What changed locally; without it only `poll` re-evaluates. */
  changes?: MovieChanges;
  /** Also re-evaluate every intervalMs (answers that depend on other instances' tables). */
  poll?: boolean;
  /** Top streams re-evaluate at most once per this; the poll period. */
  intervalMs: number;
  maxClients: number;
  clientBufferBytes: number;
  registry?: Registry;
  logger?: { warn(msg: string): void };
  /** Told about a query that failed with something else than an HttpError (sent as an error event, status 500). */
  onError?: (e: Error) => void;
}

/** A query's answer as the JSON route sends it; throws HttpError (404, 503...) as the route would answer. */
export type Answer = () => Promise<unknown>;

class Watch {
  readonly clients = new Set<ServerResponse>();
  /** Clients that have not had an answer yet: they get the next one, changed or not. */
  private readonly fresh = new Set<ServerResponse>();
  private last?: string;
  private running = false;
  private again = false;
  private lastStart = -Infinity;
  private throttle?: NodeJS.Timeout;
  private readonly poller?: NodeJS.Timeout;
  private disposed = false;

  constructor(
    private readonly push: MoviePush,
    private readonly answer: Answer,
  ) {
    if (push.opts.poll) this.poller = setInterval(() => this.run(), push.opts.intervalMs).unref();
  }

  add(res: ServerResponse): void {
    this.clients.add(res);
    this.fresh.add(res);
    this.run();
  }

  remove(res: ServerResponse): void {
    this.clients.delete(res);
    this.fresh.delete(res);
  }

  /** Evaluates now, or right after the evaluation in progress (requests meanwhile coalesce into one). */
  run(): void {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.lastStart = performance.now();
    void this.evaluate().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.run();
      }
    });
  }

  /** run, at most once per intervalMs. */
  runThrottled(): void {
    if (this.throttle || this.disposed) return;
    const wait = this.lastStart + this.push.opts.intervalMs - performance.now();
    if (wait <= 0) return this.run();
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      this.run();
    }, wait).unref();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.poller);
    clearTimeout(this.throttle);
  }

  private async evaluate(): Promise<void> {
    const firsts = new Set(this.fresh);
    this.fresh.clear();
    let text: string;
    try {
      text = sseEvent(JSON.stringify(await this.answer()));
    } catch (e) {
      const known = e instanceof HttpError;
      if (!known) this.push.opts.onError?.(e as Error);
      const error = { status: known ? e.status : 500, message: known ? e.message : 'internal error' };
      text = sseEvent(JSON.stringify(error), 'error');
    }
    if (this.disposed) return;
    const changed = text !== this.last;
    this.last = text;
    for (const res of [...this.clients]) if (changed || firsts.has(res)) this.push.streams.send(res, text);
  }
}

/** The push endpoints' streams and watches; one per server (withMovieApi makes it). */
export class MoviePush {
  readonly streams: EventStreams;
  private readonly watches = new Map<string, Watch>();
  private readonly movieWatches = new Map<number, Watch>();
  private unsubscribe?: () => void;

  constructor(readonly opts: MoviePushOptions) {
    this.streams = new EventStreams({
      what: 'movie push',
      maxClients: opts.maxClients,
      clientBufferBytes: opts.clientBufferBytes,
      registry: opts.registry,
      logger: opts.logger,
      metrics: {
        clients: { name: 'movie_stream_api_push_clients', help: 'Server-sent-event streams of the movie API connected.' },
        refused: {
          name: 'movie_stream_api_push_clients_refused_total',
          help: 'Movie API event streams refused or closed: full = over API_PUSH_MAX_CLIENTS (503), slow = more than API_PUSH_CLIENT_BUFFER_BYTES unsent.',
        },
      },
    });
  }

  /** Streams one movie's answer (the caller has validated the id). */
  streamMovie(req: IncomingMessage, res: ServerResponse, movieId: number, answer: Answer): void {
    this.stream(req, res, `movie:${movieId}`, answer, movieId);
  }

  /** Streams a top-N's answer; `key` identifies the query (equal keys share one evaluation). */
  streamTop(req: IncomingMessage, res: ServerResponse, key: string, answer: Answer): void {
    this.stream(req, res, `top:${key}`, answer);
  }

  /** Streams and watches in progress (tests, metrics). */
  get counts(): { clients: number; watches: number } {
    return { clients: this.streams.size, watches: this.watches.size };
  }

  close(): void {
    this.streams.close();
    for (const w of this.watches.values()) w.dispose();
    this.watches.clear();
    this.movieWatches.clear();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private stream(req: IncomingMessage, res: ServerResponse, key: string, answer: Answer, movieId?: number): void {
    let watch: Watch | undefined;
    const accepted = this.streams.accept(req, res, () => {
      if (!watch) return;
      watch.remove(res);
      if (watch.clients.size === 0) this.drop(key, watch, movieId);
    });
    if (!accepted) return;
    watch = this.watches.get(key);
    if (!watch) {
      watch = new Watch(this, answer);
      this.watches.set(key, watch);
      if (movieId !== undefined) this.movieWatches.set(movieId, watch);
      this.unsubscribe ??= this.opts.changes?.subscribe((ids) => this.changed(ids));
    }
    watch.add(res);
  }

  private drop(key: string, watch: Watch, movieId?: number): void {
    if (this.watches.get(key) !== watch) return;
    watch.dispose();
    this.watches.delete(key);
    if (movieId !== undefined) this.movieWatches.delete(movieId);
    if (this.watches.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private changed(ids: readonly number[] | undefined): void {
    for (const [key, w] of this.watches) if (key.startsWith('top:')) w.runThrottled();
    if (ids === undefined) {
      for (const w of this.movieWatches.values()) w.run();
      return;
    }
    // The smaller side is walked: a batch may change thousands of movies, few may be watched.
    if (ids.length <= this.movieWatches.size) {
      for (const id of ids) this.movieWatches.get(id)?.run();
    } else {
      const changed = new Set(ids);
      for (const [id, w] of this.movieWatches) if (changed.has(id)) w.run();
    }
  }
}
