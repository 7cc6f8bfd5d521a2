// A drop-in replacement for KafkaJS 2.2.4's src/consumer/batch.js (one partition's part of a fetch, as the
// runner hands it to eachBatch). The original filters every record by offset and for aborted transactions
// with a Long made from the offset's string per record (consumer/filterAbortedMessages.js), and KafkaJS keeps
// the records of every partition of a fetch alive until the last one is handled. This Batch takes either
// the original's messages (an array) or a partition's RecordSet (kafkajs-deferred-messages.ts, not decoded
// yet): its records are made when the batch is first asked for anything that needs them (the runner asks
// right before eachBatch) and dropped by `release()` (checkpointed-consumer.ts calls it once eachBatch is
// done), keeping the counts and offsets its methods answer from. Offsets are compared as numbers when they
// are safe integers (BigInt otherwise). Every property and method gives the original's result
// (kafkajs-batch.test.ts compares them on generated fetches).

interface Message {
  offset: string;
  key: Uint8Array | string | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}
/** A partition's records not decoded yet (kafkajs-deferred-messages.ts's RecordSet). */
interface DeferredRecords {
  decode(): unknown[];
}
interface PartitionData {
  partition: number;
  highWatermark: string;
  abortedTransactions?: AbortedTransaction[];
  messages: unknown[] | DeferredRecords;
}
interface Long {
  add(other: Long | number): Long;
  multiply(other: number): Long;
  toString(): string;
}

// KafkaJS's Long, for the per-batch sums the original makes with it (same results, e.g. for a watermark of 0).
const LongClass = require('kafkajs/src/utils/long') as { fromValue(v: unknown): Long };

const ABORTED_MESSAGE_KEY = Buffer.from([0, 0, 0, 0]);

// As the original's isAbortMarker, without copying a Buffer key.
function isAbortMarker({ key }: Message): boolean {
  if (!key) return false;
  return ABORTED_MESSAGE_KEY.equals(key instanceof Uint8Array ? key : Buffer.from(key));
}

/** a >= b for two offsets (int64 as decimal strings). */
function gte(a: string, b: string): boolean {
  const x = Number(a);
  const y = Number(b);
  if (Number.isSafeInteger(x) && Number.isSafeInteger(y)) return x >= y;
  return BigInt(a) >= BigInt(b);
}

/** consumer/filterAbortedMessages.js's rules, with the offsets compared by `gte`. */
function withoutAborted(messages: Message[], abortedTransactions: AbortedTransaction[] | undefined): Message[] {
  if (!abortedTransactions || !abortedTransactions.length) return messages;
  const current = new Map<string, boolean>();
  let next = 0;
  return messages.filter((message) => {
    // At the first offset of the next aborted transaction, its producer's transactional records are aborted
    // until its abort marker.
    if (next < abortedTransactions.length && gte(message.offset, abortedTransactions[next].firstOffset)) {
      current.set(abortedTransactions[next++].producerId, true);
    }
    const { producerId, inTransaction } = message.batchContext;
    if (isAbortMarker(message)) current.delete(producerId);
    else if (current.has(producerId) && inTransaction) return false;
    return true;
  });
}

/** What the methods answer from, kept after release(). */
interface Summary {
  raw: number;
  within: number;
  count: number;
  firstOffset: string | null;
  lastOffset: string | null;
  /** Whether a record within the fetched offset is a control record (asked only of an empty batch). */
  control: boolean;
}

class Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly fetchedOffset: string;
  private readonly source: unknown[] | DeferredRecords;
  private readonly abortedTransactions: AbortedTransaction[] | undefined;
  private decoded?: { raw: Message[]; within: Message[]; messages: Message[] };
  private summary?: Summary;

  constructor(topic: string, fetchedOffset: string, partitionData: PartitionData) {
    this.fetchedOffset = fetchedOffset;
    this.topic = topic;
    this.partition = partitionData.partition;
    this.highWatermark = partitionData.highWatermark;
    this.source = partitionData.messages;
    this.abortedTransactions = partitionData.abortedTransactions;
  }

  /** The records and their filtered lists, made on first use (again after release()). */
  private arrays(): { raw: Message[]; within: Message[]; messages: Message[] } {
    if (this.decoded) return this.decoded;
    const raw = (Array.isArray(this.source) ? this.source : this.source.decode()) as Message[];
    // Fetch can return records before the offset asked for (a compressed batch): those are not the batch's.
    const fetched = String(this.fetchedOffset);
    const from = Number(fetched);
    const isWithin = Number.isSafeInteger(from)
      ? (m: Message) => {
          const n = Number(m.offset);
          return Number.isSafeInteger(n) ? n >= from : BigInt(m.offset) >= BigInt(fetched);
        }
      : (m: Message) => BigInt(m.offset) >= BigInt(fetched);
    // Offsets ascend: when the first is within, all are, and the list is the same one (a partition's batch is
    // up to ~100,000 records: no copy where nothing is left out).
    const within = raw.length === 0 || isWithin(raw[0]) ? raw : raw.filter(isWithin);
    // Neither aborted records nor control records are exposed.
    const kept = withoutAborted(within, this.abortedTransactions);
    const messages = kept.some((m) => m.isControlRecord) ? kept.filter((m) => !m.isControlRecord) : kept;
    this.decoded = { raw, within, messages };
    this.summary ??= {
      raw: raw.length,
      within: within.length,
      count: messages.length,
      firstOffset: within.length === 0 ? null : within[0].offset,
      lastOffset: within.length === 0 ? null : within[within.length - 1].offset,
      control: messages.length === 0 && within.some(({ isControlRecord }) => isControlRecord),
    };
    return this.decoded;
  }

  private stats(): Summary {
    if (!this.summary) this.arrays();
    return this.summary as Summary;
  }

  get rawMessages(): Message[] {
    return this.arrays().raw;
  }

  get messagesWithinOffset(): Message[] {
    return this.arrays().within;
  }

  get messages(): Message[] {
    return this.arrays().messages;
  }

  /**
   * Drops the batch's references to its records (the arrays handed out are left as they are: a holder keeps
   * what it holds). The methods still answer; the arrays asked for again are made again.
   */
  release(): void {
    this.decoded = undefined;
  }

  isEmpty(): boolean {
    return this.stats().count === 0;
  }

  isEmptyIncludingFiltered(): boolean {
    return this.stats().within === 0;
  }

  isEmptyDueToFiltering(): boolean {
    return this.isEmpty() && this.stats().raw > 0;
  }

  isEmptyControlRecord(): boolean {
    return this.isEmpty() && this.stats().control;
  }

  isEmptyDueToLogCompactedMessages(): boolean {
    return this.stats().raw > 0 && this.isEmptyIncludingFiltered();
  }

  firstOffset(): string | null {
    return this.isEmptyIncludingFiltered() ? null : this.stats().firstOffset;
  }

  lastOffset(): string {
    if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
    if (this.isEmptyIncludingFiltered()) return LongClass.fromValue(this.highWatermark).add(-1).toString();
    return this.stats().lastOffset as string;
  }

  /** The lag after the batch's last offset. */
  offsetLag(): string {
    const lastOffsetOfPartition = LongClass.fromValue(this.highWatermark).add(-1);
    const lastConsumedOffset = LongClass.fromValue(this.lastOffset());
    return lastOffsetOfPartition.add(lastConsumedOffset.multiply(-1)).toString();
  }

  /** The lag after the batch's first offset. */
  offsetLagLow(): string {
    if (this.isEmptyIncludingFiltered()) return '0';
    const lastOffsetOfPartition = LongClass.fromValue(this.highWatermark).add(-1);
    const firstConsumedOffset = LongClass.fromValue(this.firstOffset());
    return lastOffsetOfPartition.add(firstConsumedOffset.multiply(-1)).toString();
  }
}

// The shape of the module it replaces (module.exports = the class).
export = Batch;
