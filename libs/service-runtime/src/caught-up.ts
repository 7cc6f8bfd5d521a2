// When a sink instance may answer for a partition it claimed. A claimed sink partition is rebuilt by reading
// its topics from the saved position (or their start): until it has read what the topics held when it claimed
// it, its rows are older than what the previous owner answered (a 404 for a movie that exists, an old mean).
// So a partition is served only once its position reached the end offsets read after the claim.

export interface CaughtUpOptions {
  topics: string[];
  /** Each partition's end offset (high watermark) of a topic, read now. */
  endOffsets(topic: string): Promise<ReadonlyMap<number, bigint>>;
  /** The state's next offset of a topic's partition (undefined: nothing read yet). */
  position(topic: string, partition: number): string | undefined;
  onError?(e: Error): void;
}

interface Target {
  claimedAt: number;
  /** Ordinal of its creation: only end offsets read after it count. */
  created: number;
  ends?: Record<string, bigint>;
  ready: boolean;
}

export class CaughtUp {
  private readonly targets = new Map<number, Target>();
  private clock = 0;
  private reading?: Promise<void>;

  constructor(private readonly opts: CaughtUpOptions) {}

  /** Of the running partitions (partition → when claimed), those caught up; starts reading end offsets for new claims. */
  serving(running: ReadonlyMap<number, number>): Set<number> {
    for (const p of this.targets.keys()) if (!running.has(p)) this.targets.delete(p);
    const out = new Set<number>();
    let unknown = false;
    for (const [p, claimedAt] of running) {
      let t = this.targets.get(p);
      if (!t || t.claimedAt !== claimedAt) this.targets.set(p, (t = { claimedAt, created: this.clock++, ready: false }));
      if (!t.ready && t.ends) t.ready = this.opts.topics.every((topic) => BigInt(this.opts.position(topic, p) ?? '0') >= t!.ends![topic]);
      if (t.ready) out.add(p);
      else if (!t.ends) unknown = true;
    }
    if (unknown) this.readEnds();
    return out;
  }

  /** Settles once the end offsets being read (if any) are in: for tests. */
  settled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  private readEnds(): void {
    if (this.reading) return;
    const started = this.clock++;
    this.reading = (async () => {
      const ends = new Map(await Promise.all(this.opts.topics.map(async (t) => [t, await this.opts.endOffsets(t)] as const)));
      for (const [p, t] of this.targets) {
        if (t.ends || t.created > started) continue;
        t.ends = Object.fromEntries(this.opts.topics.map((topic) => [topic, ends.get(topic)?.get(p) ?? 0n]));
      }
    })()
      .catch((e: Error) => this.opts.onError?.(e))
      .finally(() => (this.reading = undefined));
  }
}
