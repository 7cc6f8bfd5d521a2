// KafkaJS 2.2.4's Encoder writes every varint through a temporary array and `Buffer.from` (one allocation
// per varint: four per record of a produce request) and every varlong through Long objects. These are the
// same functions without the allocations, patched into KafkaJS's Encoder class by kafkajs-fix.ts (the class
// itself changes, so every module that holds it gets them, whenever it was loaded).
// Values outside the fast paths (a varlong beyond ±2^52, a Long) take the original code.
// kafkajs-fast-encoding.test.ts compares every patched function with the original on generated values.

/** The parts of KafkaJS's Encoder (src/protocol/encoder.js) used here and by kafkajs-fast-record.ts. */
export interface EncoderInstance {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  size(): number;
  writeInt8(value: number): this;
  writeInt16(value: number): this;
  writeInt32(value: number): this;
  writeUInt32(value: number): this;
  writeInt64(value: unknown): this;
  writeString(value: string | null): this;
  writeBytes(value: Buffer | string | null): this;
  writeArray(array: unknown[], type?: string): this;
  writeEncoder(value: EncoderInstance): this;
  writeVarInt(value: number): this;
  writeUVarInt(value: number): this;
  writeVarLong(value: unknown): this;
  writeVarIntBytes(value: Buffer | string | null | undefined): this;
  writeVarIntString(value: string | null | undefined): this;
  writeVarIntArray(array: EncoderInstance[], type?: string): this;
}

export interface EncoderClass {
  new (initialSize?: number): EncoderInstance;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: unknown): number;
  sizeOfVarIntBytes(value: Buffer | string | null | undefined): number;
  prototype: EncoderInstance;
}

// A literal path, so that a bundler bundles KafkaJS's own module (the one its requests use).
export const Encoder = require('kafkajs/src/protocol/encoder') as EncoderClass;

/** The originals, for the tests that compare with them. */
export const ORIGINAL = {
  writeUVarInt: Encoder.prototype.writeUVarInt,
  writeVarLong: Encoder.prototype.writeVarLong,
  sizeOfVarLong: Encoder.sizeOfVarLong.bind(Encoder),
};

const TWO_52 = 2 ** 52;

/** A varlong's zigzag value when it is a number the fast path covers (an integer below ±2^52), else -1. */
function zigzagNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value >= TWO_52 || value <= -TWO_52) return -1;
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes of the unsigned varint of a non-negative integer below 2^53. */
function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeUVarInt(this: EncoderInstance, value: number): EncoderInstance {
  // The original's bit operations (ToInt32, then unsigned shifts): the same bytes for any input.
  let v = value;
  let n = 1;
  for (let t = v; (t & 0xffffff80) !== 0; t >>>= 7) n++;
  this.ensureAvailable(n);
  const buf = this.buf;
  let o = this.offset;
  while ((v & 0xffffff80) !== 0) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v & 0x7f;
  this.offset = o;
  return this;
}

function writeVarLong(this: EncoderInstance, value: unknown): EncoderInstance {
  let zz = zigzagNumber(value);
  if (zz < 0) return ORIGINAL.writeVarLong.call(this, value);
  this.ensureAvailable(varintBytes(zz));
  const buf = this.buf;
  let o = this.offset;
  while (zz >= 0x80) {
    buf[o++] = (zz % 128) | 0x80;
    zz = Math.floor(zz / 128);
  }
  buf[o++] = zz;
  this.offset = o;
  return this;
}

function sizeOfVarLong(value: unknown): number {
  const zz = zigzagNumber(value);
  return zz < 0 ? ORIGINAL.sizeOfVarLong(value) : varintBytes(zz);
}

// Byte-level helpers of the fast record and request encoders (the same bytes as the Encoder's methods).

/** Bytes of `s` when it is ASCII (one byte per character), else -1. */
export function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
}

/** UTF-8 size of a key or value as the original sizes it; null/undefined → -1 (written as varint -1). */
export function dataSize(d: Buffer | string | null | undefined): number {
  if (d === null || d === undefined) return -1;
  if (Buffer.isBuffer(d)) return d.length;
  const s = String(d);
  const n = asciiLength(s);
  return n >= 0 ? n : Buffer.byteLength(s, 'utf8');
}

export const zigzag32 = (v: number) => (v << 1) ^ (v >> 31);

export function uvarintSize(v: number): number {
  let n = 1;
  for (let t = v; (t & 0xffffff80) !== 0; t >>>= 7) n++;
  return n;
}

export function writeUVarIntAt(buf: Buffer, o: number, v: number): number {
  while ((v & 0xffffff80) !== 0) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v & 0x7f;
  return o;
}

export function writeData(buf: Buffer, o: number, d: Buffer | string | null | undefined, size: number): number {
  o = writeUVarIntAt(buf, o, zigzag32(size));
  if (size <= 0) return o;
  if (Buffer.isBuffer(d)) {
    // A loop beats Buffer.copy's native call for the few bytes of a key or a rating.
    if (size <= 64) for (let i = 0; i < size; i++) buf[o + i] = d[i];
    else d.copy(buf, o);
  } else {
    const s = String(d);
    if (size === s.length) for (let i = 0; i < size; i++) buf[o + i] = s.charCodeAt(i);
    else buf.write(s, o, size, 'utf8');
  }
  return o + size;
}

/** KafkaJS's Encoder class (encoder.js's exports) with the fast functions put in: kafkajs-fix.ts's change. */
export function withFastVarints(encoder: EncoderClass): EncoderClass {
  encoder.prototype.writeUVarInt = writeUVarInt;
  encoder.prototype.writeVarLong = writeVarLong;
  encoder.sizeOfVarLong = sizeOfVarLong;
  return encoder;
}
