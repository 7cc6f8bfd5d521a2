// A drop-in replacement for KafkaJS 2.2.4's src/protocol/recordBatch/record/v0/decoder.js (one record of a
// fetched batch). The original reads the timestamp delta through Long objects, computes every record's
// offset and timestamp as BigInt sums turned into strings, and makes two Buffers and an object per record:
// ≈ 380 bytes of heap for a 37-byte rating, all alive until the whole fetch (up to 24 MiB) is handled, so
// a processor behind the producer held over 1 GB. Here the common case (no headers, offsets and timestamps
// that are safe integers) becomes a small object that keeps positions in the fetched bytes and makes the
// fields on each read (nothing kept); anything else takes the original's code. The
// fields read the same (kafkajs-fast-encoding.test.ts compares them on generated records).
// kafkajs-fix.ts puts it in place, in node, tsx, jest and the bundles alike.

interface Long {
  add(other: Long | number): Long;
  toString(): string;
}
interface DecoderInstance {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): Long;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (d: DecoderInstance) => T): T[];
}
interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

// KafkaJS's own modules, as the original uses them (literal paths, so that a bundler bundles them).
const LongClass = require('kafkajs/src/utils/long') as { fromValue(v: unknown): Long };
const HeaderDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder') as (d: DecoderInstance) => {
  key: string;
  value: Buffer;
};
const TimestampTypes = require('kafkajs/src/protocol/timestampTypes') as { LOG_APPEND_TIME: number };

/** The original's code (headers, or values beyond the number path). */
function original(decoder: DecoderInstance, batchContext: BatchContext) {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = decoder.readVarLong();
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : LongClass.fromValue(firstTimestamp).add(timestampDelta).toString();
  const offsetDelta = decoder.readVarInt();
  const offset = LongClass.fromValue(firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = decoder.readVarIntArray(HeaderDecoder).reduce((obj: Record<string, Buffer | Buffer[]>, { key, value }) => {
    const cur = obj[key];
    return { ...obj, [key]: cur === undefined ? value : Array.isArray(cur) ? cur.concat([value]) : [cur, value] };
  }, {});
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}

// The batch context's offset and timestamp as numbers, for the batch being read (records are read batch by
// batch, so one entry serves nearly every lookup).
let numbersOf: BatchContext | undefined;
let firstOffsetNumber = 0;
let firstTimestampNumber = 0;
function numbers(ctx: BatchContext): void {
  if (ctx === numbersOf) return;
  numbersOf = ctx;
  firstOffsetNumber = Number(ctx.firstOffset);
  firstTimestampNumber = Number(ctx.firstTimestamp);
}

/** What a record batch's records are read from: its context and the bytes they lie in, shared by its records. */
class RecordSource {
  constructor(
    readonly batchContext: BatchContext,
    readonly bytes: Uint8Array,
  ) {}
}

// The source of the records being read (one batch after another, so one entry serves nearly every record).
let lastSource: RecordSource | undefined;
function sourceOf(ctx: BatchContext, buf: Buffer): RecordSource {
  if (lastSource && lastSource.batchContext === ctx && lastSource.bytes.buffer === buf.buffer) return lastSource;
  lastSource = new RecordSource(ctx, new Uint8Array(buf.buffer));
  return lastSource;
}

/** The position after the varint at `p`. */
function skipVarint(bytes: Uint8Array, p: number): number {
  while (bytes[p++] >= 0x80);
  return p;
}

/** The zigzag varint at `p` of up to 7 bytes (checked when the record was made) as a number. */
function zigzagAt(bytes: Uint8Array, p: number): number {
  let zz = 0;
  let scale = 1;
  let b;
  do {
    b = bytes[p++];
    zz += (b & 0x7f) * scale;
    scale *= 128;
  } while (b >= 0x80);
  return zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
}

/**
 * A fetched record without headers: the fields KafkaJS's record has, read from its bytes when asked (only
 * where it starts and its offset delta are kept: three fields, ≈ 48 bytes of heap, as a batch's records
 * live until the batch is handled).
 */
class LazyRecord {
  constructor(
    private readonly source: RecordSource,
    /** Where the record's attributes byte is in `source.bytes`. */
    private readonly at: number,
    private readonly offsetDelta: number,
  ) {}

  get batchContext(): BatchContext {
    return this.source.batchContext;
  }
  get attributes(): number {
    return (this.source.bytes[this.at] << 24) >> 24;
  }
  get magicByte(): number | undefined {
    return this.source.batchContext.magicByte;
  }
  get isControlRecord(): boolean {
    return this.source.batchContext.isControlBatch ?? false;
  }
  get headers(): Record<string, never> {
    return {};
  }
  get offset(): string {
    numbers(this.source.batchContext);
    return String(firstOffsetNumber + this.offsetDelta);
  }
  get timestamp(): string {
    const ctx = this.source.batchContext;
    if (ctx.timestampType === TimestampTypes.LOG_APPEND_TIME && ctx.maxTimestamp) return ctx.maxTimestamp;
    numbers(ctx);
    return String(firstTimestampNumber + zigzagAt(this.source.bytes, this.at + 1));
  }
  /** Where the key's length is: after the attributes, the timestamp delta and the offset delta. */
  private keyField(): number {
    const bytes = this.source.bytes;
    return skipVarint(bytes, skipVarint(bytes, this.at + 1));
  }
  /** Where the value's length is. */
  private valueField(): number {
    const bytes = this.source.bytes;
    const keyField = this.keyField();
    return skipVarint(bytes, keyField) + Math.max(0, lengthAt(bytes, keyField));
  }
  /**
   * `read(bytes, start, end)` on the value's bytes where they lie (no Buffer made: the processor reads a
   * value per rating); `read(null, 0, 0)` for a record without a value.
   */
  readValue<T>(read: (bytes: Uint8Array | null, start: number, end: number) => T): T {
    const bytes = this.source.bytes;
    const field = this.valueField();
    const length = lengthAt(bytes, field);
    if (length < 0) return read(null, 0, 0);
    const start = skipVarint(bytes, field);
    return read(bytes, start, start + length);
  }
  // Key and value are views made on each read, not kept: a kept view (~100 bytes of heap) on every record a
  // handler has read would grow each record back for as long as its batch is alive.
  get key(): Buffer | null {
    const [length, at] = readLength(this.source.bytes, this.keyField());
    return length < 0 ? null : Buffer.from(this.source.bytes.buffer, at, length);
  }
  get value(): Buffer | null {
    const [length, at] = readLength(this.source.bytes, this.valueField());
    return length < 0 ? null : Buffer.from(this.source.bytes.buffer, at, length);
  }
  /** The value's size in bytes (0 for none), without making a view of it. */
  get valueSize(): number {
    return Math.max(0, lengthAt(this.source.bytes, this.valueField()));
  }
  /** The fields as KafkaJS's record has them (for a log line, a test, a spread). */
  toJSON() {
    const { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext } = this;
    return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext };
  }
}

/** The varint length (zigzag, -1 = null) at `o`, as readLength reads it, without making an array. */
function lengthAt(buf: Uint8Array, o: number): number {
  let result = 0;
  let shift = 0;
  let b;
  do {
    b = buf[o++];
    result |= (b & 0x7f) << shift;
    shift += 7;
  } while (b >= 0x80 && shift < 35);
  return (result >>> 1) ^ -(result & 1);
}

/** Reads a varint length (zigzag, -1 = null) at `o`; returns [length, position after it]. */
function readLength(buf: Uint8Array, o: number): [number, number] {
  let result = 0;
  let shift = 0;
  let b;
  do {
    b = buf[o++];
    result |= (b & 0x7f) << shift;
    shift += 7;
  } while (b >= 0x80 && shift < 35);
  return [(result >>> 1) ^ -(result & 1), o];
}

/**
 * The record whose bytes are `buf[start, limit)`, or undefined where it is anything but the common case
 * (headers, a record cut short, a timestamp delta past 7 bytes, sums past 2^53): the original's to read.
 */
function recordAt(buf: Buffer, start: number, limit: number, batchContext: BatchContext): LazyRecord | undefined {
  let o = start + 1;
  // The timestamp delta's zigzag varint, up to 7 bytes (below 2^49) as a number.
  let zz = 0;
  let scale = 1;
  let b;
  let n = 0;
  do {
    b = buf[o++];
    zz += (b & 0x7f) * scale;
    scale *= 128;
    n++;
  } while (b >= 0x80 && n < 7);
  numbers(batchContext);
  const first = firstOffsetNumber;
  const base = firstTimestampNumber;
  if (b >= 0x80 || !Number.isSafeInteger(first) || !Number.isSafeInteger(base)) return undefined;
  const timestampDelta = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  const [offsetDelta, keyField] = readLength(buf, o);
  const [keyLength, keyAt] = readLength(buf, keyField);
  const at = keyAt + Math.max(0, keyLength);
  const [valueLength, valueStart] = readLength(buf, at);
  const end = valueStart + Math.max(0, valueLength);
  if (
    start >= limit ||
    // A varint longer than 5 bytes (the reads above stop there; KafkaJS's do not).
    buf[keyField - 1] >= 0x80 ||
    buf[keyAt - 1] >= 0x80 ||
    buf[valueStart - 1] >= 0x80 ||
    buf[end] !== 0 ||
    end + 1 > limit ||
    keyLength < -1 ||
    valueLength < -1 ||
    !Number.isSafeInteger(first + offsetDelta) ||
    !Number.isSafeInteger(base + timestampDelta)
  ) {
    return undefined;
  }
  return new LazyRecord(sourceOf(batchContext, buf), buf.byteOffset + start, offsetDelta);
}

function recordDecoder(decoder: DecoderInstance, batchContext: BatchContext = {}): unknown {
  const record = recordAt(decoder.buffer, decoder.offset, decoder.buffer.length, batchContext);
  if (!record) return original(decoder, batchContext);
  // Past the record (its headers' count, 0, is its last byte).
  decoder.offset = skipVarint(decoder.buffer, skipVarint(decoder.buffer, decoder.offset + 1));
  decoder.offset = readLengthEnd(decoder.buffer, readLengthEnd(decoder.buffer, decoder.offset)) + 1;
  return record;
}

/** The position after a length-prefixed field (key or value) whose length varint is at `o`. */
function readLengthEnd(buf: Uint8Array, o: number): number {
  const [length, at] = readLength(buf, o);
  return at + Math.max(0, length);
}

// The shape of the module it replaces (module.exports = the function), with `at` for readers that walk a
// record batch's bytes themselves (kafkajs-deferred-messages.ts: no Buffer and no Decoder per record).
export = Object.assign(recordDecoder, { at: recordAt });
