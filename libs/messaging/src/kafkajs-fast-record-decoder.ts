// A drop-in replacement for KafkaJS 2.2.4's src/protocol/recordBatch/record/v0/decoder.js (one record of a
// fetched batch). The original reads the timestamp delta through Long objects and computes every record's
// offset and timestamp as BigInt sums turned into strings; here the common case (no headers, offsets and
// timestamps that are safe integers) is read with numbers, and anything else takes the original's code.
// The result is the same object (kafkajs-fast-encoding.test.ts compares them on generated batches).
// kafkajs-fix.ts puts it in place for node, tsx and jest; the bundler routes KafkaJS's import to this file.

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

function recordDecoder(decoder: DecoderInstance, batchContext: BatchContext = {}) {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
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
  const first = Number(firstOffset);
  const base = Number(firstTimestamp);
  if (b >= 0x80 || !Number.isSafeInteger(first) || !Number.isSafeInteger(base)) {
    decoder.offset = start;
    return original(decoder, batchContext);
  }
  const timestampDelta = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  decoder.offset = o;
  const offsetDelta = decoder.readVarInt();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  if (buf[decoder.offset] !== 0) {
    decoder.offset = start;
    return original(decoder, batchContext);
  }
  const offset = first + offsetDelta;
  const time = base + timestampDelta;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(time)) {
    decoder.offset = start;
    return original(decoder, batchContext);
  }
  decoder.offset++; // no headers
  return {
    magicByte,
    attributes,
    timestamp: timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(time),
    offset: String(offset),
    key,
    value,
    headers: {},
    isControlRecord: isControlBatch,
    batchContext,
  };
}

// The shape of the module it replaces (module.exports = the function).
export = recordDecoder;
