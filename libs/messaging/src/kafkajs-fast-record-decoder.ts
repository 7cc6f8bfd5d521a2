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

/** A fetched record without headers: the fields KafkaJS's record has, made from positions when read. */
class LazyRecord {
  constructor(
    readonly batchContext: BatchContext,
    readonly attributes: number,
    private readonly bytes: ArrayBufferLike,
    private readonly keyAt: number,
    private readonly keyLength: number,
    private readonly valueAt: number,
    private readonly valueLength: number,
    private readonly offsetDelta: number,
    private readonly timestampDelta: number,
  ) {}

  get magicByte(): number | undefined {
    return this.batchContext.magicByte;
  }
  get isControlRecord(): boolean {
    return this.batchContext.isControlBatch ?? false;
  }
  get headers(): Record<string, never> {
    return {};
  }
  get offset(): string {
    numbers(this.batchContext);
    return String(firstOffsetNumber + this.offsetDelta);
  }
  get timestamp(): string {
    const ctx = this.batchContext;
    if (ctx.timestampType === TimestampTypes.LOG_APPEND_TIME && ctx.maxTimestamp) return ctx.maxTimestamp;
    numbers(ctx);
    return String(firstTimestampNumber + this.timestampDelta);
  }
  // Key and value are views made on each read, not kept: a kept view (~100 bytes of heap) on every record a
  // handler has read would grow each record back for as long as its fetch is alive.
  get key(): Buffer | null {
    return this.keyLength < 0 ? null : Buffer.from(this.bytes, this.keyAt, this.keyLength);
  }
  get value(): Buffer | null {
    return this.valueLength < 0 ? null : Buffer.from(this.bytes, this.valueAt, this.valueLength);
  }
  /** The fields as KafkaJS's record has them (for a log line, a test, a spread). */
  toJSON() {
    const { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext } = this;
    return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord, batchContext };
  }
}

/** Reads a varint length (zigzag, -1 = null) at `o`; returns [length, position after it]. */
function readLength(buf: Buffer, o: number): [number, number] {
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

function recordDecoder(decoder: DecoderInstance, batchContext: BatchContext = {}): unknown {
  const start = decoder.offset;
  const buf = decoder.buffer;
  let o = start;
  const attributes = buf.readInt8(o++);
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
  if (b >= 0x80 || !Number.isSafeInteger(first) || !Number.isSafeInteger(base)) {
    decoder.offset = start;
    return original(decoder, batchContext);
  }
  const timestampDelta = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  decoder.offset = o;
  const offsetDelta = decoder.readVarInt();
  let [keyLength, at] = readLength(buf, decoder.offset);
  const keyAt = at;
  at += Math.max(0, keyLength);
  const [valueLength, valueStart] = readLength(buf, at);
  const end = valueStart + Math.max(0, valueLength);
  // Anything unusual (headers, a record cut short, sums past 2^53) is the original's to read.
  if (
    buf[end] !== 0 ||
    end + 1 > buf.length ||
    keyLength < -1 ||
    valueLength < -1 ||
    !Number.isSafeInteger(first + offsetDelta) ||
    !Number.isSafeInteger(base + timestampDelta)
  ) {
    decoder.offset = start;
    return original(decoder, batchContext);
  }
  decoder.offset = end + 1;
  if (keyLength < 0) keyLength = -1;
  return new LazyRecord(
    batchContext,
    attributes,
    buf.buffer,
    buf.byteOffset + keyAt,
    keyLength,
    buf.byteOffset + valueStart,
    valueLength,
    offsetDelta,
    timestampDelta,
  );
}

// The shape of the module it replaces (module.exports = the function).
export = recordDecoder;
