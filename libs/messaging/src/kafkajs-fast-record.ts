// A drop-in replacement for KafkaJS 2.2.4's src/protocol/recordBatch/record/v0/index.js (the encoder of one
// record of a produce request): the original's code, with one change: the record's Encoder is created
// with the record's size. The original's `new Encoder()` allocates (and zero-fills) 512 bytes for every
// record and the rating-producer's profile spent ≈ 1 s per 1M ratings there. The varints it writes are
// made cheap by kafkajs-fast-encoding.ts. kafkajs-fix.ts puts it in place for node, tsx and jest; the
// bundler (tools/build) routes KafkaJS's import of the module to this file.
import { Encoder } from './kafkajs-fast-encoding';

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

function record({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordArgs) {
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

// The shape of the module it replaces (module.exports = the function).
export = record;
