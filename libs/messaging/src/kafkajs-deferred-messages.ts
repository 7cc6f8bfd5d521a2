// The fetch response's decoding of a partition's records (KafkaJS 2.2.4's fetch/v4/decodeMessages.js, used by
// fetch v4-v11), with the records made later. KafkaJS decodes every record of every partition of a response
// up front and keeps them all until the last partition is handled: a processor's memory followed the fetch
// size. Here the async part stays at response-decode time (each record batch's header is read and a
// compressed batch is decompressed) and the partition gets a RecordSet: the batches' contexts and record
// bytes, no record objects. The records are made (sync, by KafkaJS's record decoder, i.e. the fast one) when
// the partition's Batch is first asked for them (kafkajs-batch.ts), right before eachBatch, and dropped
// with the Batch's release(). The rest is the original's code (recordBatch/v0/decoder.js, decodeMessages.js),
// errors included: a batch cut short ends the partition's records, whenever it is found.
// kafkajs-fix.ts puts it in place together with the Batch; kafkajs-batch.test.ts compares the results.

interface DecoderInstance {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readVarIntBytes(): Buffer | null;
  readAll(): Buffer;
  canReadBytes(length: number): boolean;
  readBytes(length: number): Buffer;
  slice(size: number): DecoderInstance;
  forward(size: number): void;
}

/** A record batch's fields as KafkaJS gives them to its records (`batchContext`). */
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

/** One record batch, not decoded: its context and its (uncompressed) records, `count` of them. */
interface DeferredBatch {
  context: BatchContext;
  records: Buffer;
  count: number;
}

import fastRecordDecoder = require('./kafkajs-fast-record-decoder');

// KafkaJS's own modules, as the originals use them. The record decoder is the cached module, i.e. the fast
// record decoder once kafkajs-fix.ts has changed it (this module is loaded after that change).
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => DecoderInstance;
const MessageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder') as (d: DecoderInstance, size: number) => Promise<unknown[]>;
const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (d: DecoderInstance, ctx: BatchContext) => unknown;
const { MAGIC_BYTE } = require('kafkajs/src/protocol/recordBatch/v0') as { MAGIC_BYTE: number };
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as {
  lookupCodecByAttributes(attributes: number): { decompress(b: Buffer): Promise<Buffer> } | undefined;
};
const { KafkaJSPartialMessageError } = require('kafkajs/src/errors') as { KafkaJSPartialMessageError: new (m: string) => Error };
const TimestampTypes = require('kafkajs/src/protocol/timestampTypes') as { LOG_APPEND_TIME: number; CREATE_TIME: number };

const MAGIC_OFFSET = 16;
const RECORD_BATCH_OVERHEAD = 49;
const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;

const isPartial = (e: unknown) => (e as Error).name === 'KafkaJSPartialMessageError';

/** Records made from RecordSets since the process started (tests check when they are made). */
export const made = { records: 0 };

/** A partition's fetched record batches, not decoded; `decode()` makes their records (each call anew). */
export class RecordSet {
  constructor(private readonly batches: DeferredBatch[]) {}

  /** Record batches read (for tests and logs). */
  get batchCount(): number {
    return this.batches.length;
  }

  /** The records, as KafkaJS's decodeMessages returns them. */
  decode(): unknown[] {
    // Sized once: grown push by push, a list of ~100,000 records leaves its smaller copies behind as garbage.
    const out: unknown[] = new Array(this.batches.reduce((n, b) => n + Math.max(0, b.count), 0));
    let length = 0;
    for (const b of this.batches) {
      try {
        length = readRecords(b, out, length);
      } catch (e) {
        // As the original's decodeMessages: a batch that cannot be read to its end ends the partition's records.
        if (!isPartial(e)) throw e;
        break;
      }
    }
    out.length = length;
    made.records += length;
    return out;
  }
}

/**
 * Puts a batch's records into `out` from index `from` and returns the index after them, reading them as KafkaJS
 * does (a length, then the record's bytes, read by the record decoder). The common record is read in place by
 * the fast decoder (no Buffer and no Decoder each); anything else takes KafkaJS's steps.
 */
function readRecords(b: DeferredBatch, out: unknown[], from: number): number {
  const buf = b.records;
  const inPlace = (RecordDecoder as unknown) === fastRecordDecoder ? fastRecordDecoder.at : undefined;
  let decoder: DecoderInstance | undefined;
  let p = 0;
  let k = from;
  for (let i = 0; i < b.count; i++) {
    // The record's length: a zigzag varint of at most 4 bytes here (anything else is KafkaJS's to read).
    let length = -1;
    let at = p;
    if (inPlace) {
      let raw = 0;
      let shift = 0;
      let byte;
      do {
        byte = buf[at++];
        raw |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte >= 0x80 && shift < 28);
      if (byte < 0x80) length = (raw >>> 1) ^ -(raw & 1);
    }
    const record = length >= 0 && at + length <= buf.length ? inPlace?.(buf, at, at + length, b.context) : undefined;
    if (record) {
      out[k++] = record;
      p = at + length;
      continue;
    }
    decoder ??= new Decoder(buf);
    decoder.offset = p;
    const bytes = decoder.readVarIntBytes();
    out[k++] = RecordDecoder(new Decoder(bytes as Buffer), b.context);
    p = decoder.offset;
  }
  return k;
}

/** The original record batch decoder's reading of a batch, without decoding its records. */
async function readBatch(fetchDecoder: DecoderInstance): Promise<DeferredBatch> {
  const firstOffset = fetchDecoder.readInt64().toString();
  const length = fetchDecoder.readInt32();
  const decoder = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  const remainingBytes = Buffer.byteLength(decoder.buffer);
  if (remainingBytes < length) {
    throw new KafkaJSPartialMessageError(
      `Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`,
    );
  }
  const partitionLeaderEpoch = decoder.readInt32();
  const magicByte = decoder.readInt8();
  decoder.readInt32(); // crc, not checked (as the original)
  const attributes = decoder.readInt16();
  const lastOffsetDelta = decoder.readInt32();
  const firstTimestamp = decoder.readInt64().toString();
  const maxTimestamp = decoder.readInt64().toString();
  const producerId = decoder.readInt64().toString();
  const producerEpoch = decoder.readInt16();
  const firstSequence = decoder.readInt32();
  // The same fields in the same order as the original's context, so the records read the same.
  const context: BatchContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? TimestampTypes.LOG_APPEND_TIME : TimestampTypes.CREATE_TIME,
    magicByte,
  };
  const codec = lookupCodecByAttributes(attributes);
  const count = decoder.readInt32();
  if (!codec) return { context, records: decoder.buffer.subarray(decoder.offset), count: count === -1 ? 0 : count };
  if (count <= 0) return { context, records: Buffer.alloc(0), count: 0 };
  const records = await codec.decompress(decoder.readAll());
  return { context, records, count };
}

/** decodeMessages: a RecordSet for record batches, the original's messages for an older message set. */
export async function decodeMessages(decoder: DecoderInstance): Promise<unknown[] | RecordSet> {
  const messagesSize = decoder.readInt32();
  if (messagesSize <= 0 || !decoder.canReadBytes(messagesSize)) return [];
  const messagesBuffer = decoder.readBytes(messagesSize);
  const messagesDecoder = new Decoder(messagesBuffer);
  const magicByte = messagesBuffer.subarray(MAGIC_OFFSET).readInt8(0);
  if (magicByte !== MAGIC_BYTE) return MessageSetDecoder(messagesDecoder, messagesSize);
  const batches: DeferredBatch[] = [];
  while (messagesDecoder.canReadBytes(RECORD_BATCH_OVERHEAD)) {
    try {
      batches.push(await readBatch(messagesDecoder));
    } catch (e) {
      if (isPartial(e)) break;
      throw e;
    }
  }
  return new RecordSet(batches);
}
