// One Fetch request of a group-less read (partition-reader.ts) and its response, decoded record batch by record
// batch. KafkaJS's own fetch decoding flattens the batches into records, so a response holding only a batch
// the log cleaner emptied, or only aborted and control batches, would say nothing about where the next fetch
// starts; and its aborted-transaction filter looks at one aborted transaction per record. Here each batch moves
// the next offset past it, and batches are filtered as the Java consumer does (read_committed).
// KafkaJS internals, which only libs/messaging may use: its Fetch v11 request, decoder and record-batch
// decoder (with the project's record decoder and the LZ4 codec in place: hence ./kafkajs first).
import './kafkajs';

interface Long {
  toString(): string;
}
interface DecoderInstance {
  offset: number;
  buffer: Buffer;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): Long;
  readString(): string;
  readBytes(n: number): Buffer;
  canReadBytes(n: number): boolean;
  readArray<T>(reader: (d: DecoderInstance) => T): T[];
}
interface RawRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}
interface RawBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  inTransaction: boolean;
  isControlBatch: boolean;
  records: RawRecord[];
}
interface FetchPartitionRequest {
  partition: number;
  fetchOffset: string;
  maxBytes: number;
}

const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => DecoderInstance;
const fetchV11 = require('kafkajs/src/protocol/requests/fetch/v11/request') as (args: {
  replicaId: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: { topic: string; partitions: FetchPartitionRequest[] }[];
}) => { apiKey: number; apiVersion: number };
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: DecoderInstance) => Promise<RawBatch>;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error };
const { Fetch: FETCH_API_KEY } = require('kafkajs/src/protocol/requests/apiKeys') as { Fetch: number };
const { READ_COMMITTED } = require('kafkajs/src/protocol/isolationLevel') as { READ_COMMITTED: number };

/** A KafkaJS broker of a cluster (the parts used here). */
export interface KafkaJsBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number }> | null;
  connectionPool: { send(protocolRequest: unknown): Promise<unknown> };
  disconnect(): Promise<void>;
}

/** One partition of a fetch response. */
export interface FetchedPartition {
  partition: number;
  /** Kafka's error code for the partition; 0 when it was read. */
  errorCode: number;
  /** Data records of committed and non-transactional batches, in offset order (a batch's records before the fetch offset included). */
  records: RawRecord[];
  /** Where the next fetch continues: past the response's last whole batch (emptied, aborted and control batches count); undefined without one. */
  nextOffset?: string;
}

const RECORD_BATCH_OVERHEAD = 49; // a v2 batch's header: fewer bytes left are the cut-off tail of the response
const MAGIC_OFFSET = 16;
const ABORT_MARKER = 0; // control record key: version int16, type int16 (0 abort, 1 commit)

/** Decodes one partition's record set, leaving out aborted transactions' and control batches' records. */
async function decodeRecordSet(
  d: DecoderInstance,
  aborted: { producerId: string; firstOffset: bigint }[],
): Promise<{ records: RawRecord[]; nextOffset?: string }> {
  const size = d.readInt32();
  if (size <= 0) return { records: [] };
  const set = new Decoder(d.readBytes(size));
  const records: RawRecord[] = [];
  let nextOffset: bigint | undefined;
  // Producers inside an aborted transaction at the batch being read (the Java consumer's bookkeeping).
  const abortedProducers = new Set<string>();
  const queue = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  while (set.canReadBytes(RECORD_BATCH_OVERHEAD)) {
    const magic = set.buffer.readInt8(set.offset + MAGIC_OFFSET);
    if (magic !== 2) throw new Error(`record batch format v${magic} is not supported by the group-less reader (Kafka 0.11+ writes v2)`);
    let batch: RawBatch;
    try {
      batch = await decodeRecordBatch(set);
    } catch (e) {
      // The response ends inside a batch when it hits its byte limit: the next fetch starts there.
      if ((e as Error).name === 'KafkaJSPartialMessageError') break;
      throw e;
    }
    const last = BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta);
    nextOffset = last + 1n;
    if (batch.producerId !== '-1') {
      while (queue.length && queue[0].firstOffset <= last) abortedProducers.add(queue.shift()!.producerId);
      if (batch.isControlBatch) {
        const key = batch.records[0]?.key;
        if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) abortedProducers.delete(batch.producerId);
        continue;
      }
      if (batch.inTransaction && abortedProducers.has(batch.producerId)) continue;
    }
    if (batch.isControlBatch) continue;
    for (const r of batch.records) records.push(r);
  }
  return { records, nextOffset: nextOffset?.toString() };
}

async function decodeResponse(buffer: Buffer): Promise<{ clientSideThrottleTime: number; partitions: FetchedPartition[] }> {
  const d = new Decoder(buffer);
  const clientSideThrottleTime = d.readInt32();
  const errorCode = d.readInt16();
  d.readInt32(); // session id (no fetch session is used)
  if (errorCode !== 0) throw createErrorFromCode(errorCode);
  const partitions: FetchedPartition[] = [];
  for (let t = d.readInt32(); t > 0; t--) {
    d.readString();
    for (let n = d.readInt32(); n > 0; n--) {
      const partition = d.readInt32();
      const partitionError = d.readInt16();
      d.readInt64(); // high watermark
      d.readInt64(); // last stable offset
      d.readInt64(); // log start offset
      const aborted = d.readArray((a) => ({ producerId: a.readInt64().toString(), firstOffset: BigInt(a.readInt64().toString()) }));
      d.readInt32(); // preferred read replica
      partitions.push({ partition, errorCode: partitionError, ...(await decodeRecordSet(d, aborted)) });
    }
  }
  return { clientSideThrottleTime, partitions };
}

/**
 * Fetches `partitions` of `topic` from `broker` (their leader), read_committed. Errors of single partitions
 * are in the result; a failed request throws (KafkaJS's errors, as its own fetch would).
 */
export async function fetchPartitions(
  broker: KafkaJsBroker,
  topic: string,
  partitions: FetchPartitionRequest[],
  limits: { maxWaitMs: number; maxBytes: number },
): Promise<FetchedPartition[]> {
  const fetch = broker.versions?.[FETCH_API_KEY];
  // Fetch v11 is Kafka 2.3's; every broker the project runs on (3.x, 4.x) has it, and 4.x dropped v0-v3.
  if (fetch && fetch.maxVersion < 11) throw new Error(`the broker supports Fetch up to v${fetch.maxVersion}: v11 (Kafka 2.3+) is needed`);
  const request = fetchV11({
    replicaId: -1,
    maxWaitTime: limits.maxWaitMs,
    minBytes: 1,
    maxBytes: limits.maxBytes,
    isolationLevel: READ_COMMITTED,
    topics: [{ topic, partitions }],
  });
  try {
    const data = (await broker.connectionPool.send({
      request,
      response: { decode: decodeResponse, parse: async (x: unknown) => x },
      requestTimeout: limits.maxWaitMs + 30_000,
    })) as { partitions: FetchedPartition[] };
    return data.partitions;
  } catch (e) {
    // As KafkaJS's broker does: a closed connection is reopened by the next request.
    if ((e as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined);
    throw e;
  }
}

/** Kafka's error for a partition code (retriable or not, as KafkaJS knows it). */
export const partitionError = (code: number): Error => createErrorFromCode(code);
