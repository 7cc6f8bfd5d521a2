// A drop-in replacement for KafkaJS 2.2.4's src/protocol/recordBatch/record/v0/index.js (the encoder of one
// record of a produce request). The original creates an Encoder of 512 zeroed bytes per record and writes
// each field through a method (a string key twice measured, then written as UTF-8 by Buffer.write): the
// largest item of the rating-producer's profile. Here a record without headers is written byte by byte
// into a buffer of its exact size; one with headers takes the original's code (with a pre-sized Encoder
// and the varints of kafkajs-fast-encoding.ts). kafkajs-fix.ts puts it in place for node, tsx and jest; the
// bundler (tools/build) routes KafkaJS's import of the module to this file.
import { dataSize, Encoder, EncoderInstance, uvarintSize, writeData, writeUVarIntAt, zigzag32 } from './kafkajs-fast-encoding';

interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[]>;
}

interface HeaderEntry {
  key: string;
  value: Buffer | string;
}

// KafkaJS's header/v0 encoder, as the original record module uses it.
const Header = ({ key, value }: HeaderEntry) => new Encoder().writeVarIntString(key).writeVarIntBytes(value);

function sizeOfHeaders(headersArray: HeaderEntry[]): number {
  let size = Encoder.sizeOfVarInt(headersArray.length);
  for (const header of headersArray) {
    const keySize = Buffer.byteLength(header.key);
    const valueSize = Buffer.byteLength(header.value);
    size += Encoder.sizeOfVarInt(keySize) + keySize;
    if (header.value === null) size += Encoder.sizeOfVarInt(-1);
    else size += Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  return size;
}

function withHeaders({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordArgs) {
  const headersArray: HeaderEntry[] = Object.keys(headers).flatMap((headerKey) => {
    const h = headers[headerKey];
    return !Array.isArray(h) ? [{ key: headerKey, value: h }] : h.map((headerValue) => ({ key: headerKey, value: headerValue }));
  });
  const sizeOfBody =
    1 + // always one byte for attributes
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    sizeOfHeaders(headersArray);
  return new Encoder(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody)
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header));
}

const TWO_52 = 2 ** 52;

function record(args: RecordArgs): EncoderInstance {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers } = args;
  if (
    (headers !== undefined && Object.keys(headers).length > 0) ||
    !Number.isInteger(timestampDelta) ||
    Math.abs(timestampDelta) >= TWO_52 ||
    !Number.isInteger(offsetDelta)
  )
    return withHeaders(args);
  const tz = timestampDelta >= 0 ? timestampDelta * 2 : -timestampDelta * 2 - 1;
  const keySize = dataSize(key);
  const valueSize = dataSize(value);
  const sizeOfBody =
    1 +
    Encoder.sizeOfVarLong(timestampDelta) +
    uvarintSize(zigzag32(offsetDelta)) +
    uvarintSize(zigzag32(keySize)) +
    Math.max(0, keySize) +
    uvarintSize(zigzag32(valueSize)) +
    Math.max(0, valueSize) +
    1; // headers: varint 0
  const total = uvarintSize(zigzag32(sizeOfBody)) + sizeOfBody;
  const buf = Buffer.allocUnsafe(total);
  let o = writeUVarIntAt(buf, 0, zigzag32(sizeOfBody));
  buf[o++] = 0; // attributes
  let t = tz;
  while (t >= 0x80) {
    buf[o++] = (t % 128) | 0x80;
    t = Math.floor(t / 128);
  }
  buf[o++] = t;
  o = writeUVarIntAt(buf, o, zigzag32(offsetDelta));
  o = writeData(buf, o, key, keySize);
  o = writeData(buf, o, value, valueSize);
  buf[o++] = 0; // no headers
  // An Encoder holding these bytes, as the original returns (its constructor would allocate again).
  const e = Object.create(Encoder.prototype) as EncoderInstance;
  e.buf = buf;
  e.offset = o;
  return e;
}

// The shape of the module it replaces (module.exports = the function).
export = record;
