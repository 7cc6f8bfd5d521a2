// Hand-written wire codecs of the two hot messages (one Rating per rating, one MeanRating per movie and batch).
// protobuf-es's reflection (`create` + `toBinary`/`fromBinary`) walks the schema for every message; these
// write the fields directly and read them with its BinaryReader. The bytes are the same as
// `toBinary`'s (proto3: fields in number order, zero values left out, but -0 written) and the values the same as
// `fromBinary`'s; codec.test.ts checks both on generated messages. Change them with the .proto files.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** The fields of a Rating (timestamp as a number: seconds since the epoch fit a double exactly). */
export interface RatingFields {
  userId: number;
  movieId: number;
  value: number;
  timestamp: number;
  sourceId: number;
  sourceRow: number;
}

/** The fields of a MeanRating (sourceOffset a decimal string, as the generated type has it: jstype string). */
export interface MeanRatingFields {
  movieId: number;
  mean: number;
  sum: number;
  count: number;
  sourcePartition: number;
  sourceOffset: string;
}

// Encoding writes into one scratch buffer (a message is at most 57 bytes) and copies the result into a
// Buffer from Node's pool: a BinaryWriter per message, or int64 through BigInt, cost twice as much.
const scratch = Buffer.allocUnsafe(64);
let pos = 0;

function varint32(v: number): void {
  while (v > 0x7f) {
    scratch[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  scratch[pos++] = v;
}

/** int32: negative values as 10-byte sign-extended varints, as protobuf writes them. */
function int32(v: number): void {
  if (v >= 0) return varint32(v);
  for (let i = 0; i < 9; i++) {
    scratch[pos++] = (v & 0x7f) | 0x80;
    v >>= 7;
  }
  scratch[pos++] = 1;
}

/** int64 of a safe integer (|v| < 2^53) or of a decimal string, two's complement like protobuf's. */
function int64(v: number | string): void {
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    let lo = v >>> 0;
    let hi = (v - lo) / 4294967296;
    while (hi > 0 || lo > 0x7f) {
      scratch[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    scratch[pos++] = lo;
    return;
  }
  let big = BigInt.asUintN(64, BigInt(v));
  while (big > 0x7fn) {
    scratch[pos++] = Number(big & 0x7fn) | 0x80;
    big >>= 7n;
  }
  scratch[pos++] = Number(big);
}

/** A field's tag: every field here has a number below 16, so the tag is one byte. */
function tag(byte: number): void {
  scratch[pos++] = byte;
}

function fixed32(v: number): void {
  scratch.writeUInt32LE(v, pos);
  pos += 4;
}

function double(v: number): void {
  scratch.writeDoubleLE(v, pos);
  pos += 8;
}

function finish(): Buffer {
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  pos = 0;
  return out;
}

export function encodeRatingFields(r: RatingFields): Buffer {
  if (r.userId !== 0) {
    tag(0x08);
    int32(r.userId);
  }
  if (r.movieId !== 0) {
    tag(0x10);
    int32(r.movieId);
  }
  if (!Object.is(r.value, 0)) {
    tag(0x19);
    double(r.value);
  }
  if (r.timestamp !== 0) {
    tag(0x20);
    int64(r.timestamp);
  }
  if (r.sourceId !== 0) {
    tag(0x2d);
    fixed32(r.sourceId >>> 0);
  }
  if (r.sourceRow !== 0) {
    tag(0x30);
    varint32(r.sourceRow);
  }
  return finish();
}

export function encodeMeanRatingFields(m: MeanRatingFields): Buffer {
  if (m.movieId !== 0) {
    tag(0x08);
    int32(m.movieId);
  }
  if (!Object.is(m.mean, 0)) {
    tag(0x11);
    double(m.mean);
  }
  if (!Object.is(m.sum, 0)) {
    tag(0x19);
    double(m.sum);
  }
  if (m.count !== 0) {
    tag(0x20);
    varint32(m.count);
  }
  if (m.sourcePartition !== 0) {
    tag(0x28);
    varint32(m.sourcePartition);
  }
  if (m.sourceOffset !== '0' && m.sourceOffset !== '') {
    tag(0x30);
    int64(m.sourceOffset);
  }
  return finish();
}

/** Thrown for bytes that are no valid message of `type`; the message is the reason (callers name the type). */
export class WireFormatError extends Error {
  constructor(
    readonly type: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'WireFormatError';
  }
}

function expectWireType(type: string, field: number, got: WireType, want: WireType): void {
  if (got !== want) throw new WireFormatError(type, `field ${field} has wire type ${got}, expected ${want}`);
}

/** Decodes a Rating; unknown fields are skipped (a newer producer), bad bytes throw WireFormatError. */
// An 8-byte scratch to read a little-endian double without allocating.
const double8 = new DataView(new ArrayBuffer(8));

/**
 * A Rating's movie id and value read from `bytes[start, end)` into `out` without allocating anything (the
 * processor reads one per rating). Only the common encoding is read: each field's known tag and wire type,
 * varints that end within 5 bytes (10 for the timestamp); for anything else it returns false and the
 * caller uses decodeRatingFields, which reads every valid encoding and names what is wrong with the others.
 * Where it returns true, the values are decodeRatingFields's (codec.test.ts compares them).
 */
export function readRatingInPlace(bytes: Uint8Array, start: number, end: number, out: { movieId: number; value: number }): boolean {
  let p = start;
  let movieId = 0;
  let value = 0;
  while (p < end) {
    const tag = bytes[p++];
    if (tag === 0x19) {
      if (p + 8 > end) return false;
      for (let i = 0; i < 8; i++) double8.setUint8(i, bytes[p + i]);
      value = double8.getFloat64(0, true);
      p += 8;
    } else if (tag === 0x2d) {
      p += 4;
    } else if (tag === 0x10 || tag === 0x08 || tag === 0x30 || tag === 0x20) {
      // A varint: movieId (int32), userId (int32), sourceRow (uint32) within 5 bytes, timestamp (int64) within 10.
      let v = 0;
      let shift = 0;
      let b;
      const limit = tag === 0x20 ? 10 : 5;
      let n = 0;
      do {
        b = bytes[p++];
        if (shift < 28) v |= (b & 0x7f) << shift;
        else if (shift === 28) v |= (b & 0x0f) << 28;
        shift += 7;
        n++;
      } while (b >= 0x80 && n < limit);
      if (b >= 0x80 || p > end) return false;
      if (tag === 0x10) movieId = v | 0;
    } else {
      return false;
    }
  }
  if (p !== end) return false;
  out.movieId = movieId;
  out.value = value;
  return true;
}

/**
 * A MeanRating's movie id, mean and count read from `bytes[start, end)` into `out` without allocating (the
 * sink reads one per message), as readRatingInPlace reads a Rating: the common encoding only, false for
 * anything else (the caller then uses decodeMeanRatingFields). Where it returns true, the values are
 * decodeMeanRatingFields's (codec.test.ts compares them).
 */
export function readMeanRatingInPlace(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: { movieId: number; mean: number; count: number },
): boolean {
  let p = start;
  let movieId = 0;
  let mean = 0;
  let count = 0;
  while (p < end) {
    const tag = bytes[p++];
    if (tag === 0x11 || tag === 0x19) {
      // mean, sum: doubles.
      if (p + 8 > end) return false;
      if (tag === 0x11) {
        for (let i = 0; i < 8; i++) double8.setUint8(i, bytes[p + i]);
        mean = double8.getFloat64(0, true);
      }
      p += 8;
    } else if (tag === 0x08 || tag === 0x20 || tag === 0x28 || tag === 0x30) {
      // movieId (int32), count and sourcePartition (uint32) within 5 bytes, sourceOffset (int64) within 10.
      let v = 0;
      let shift = 0;
      let b;
      const limit = tag === 0x30 ? 10 : 5;
      let n = 0;
      do {
        b = bytes[p++];
        if (shift < 28) v |= (b & 0x7f) << shift;
        else if (shift === 28) v |= (b & 0x0f) << 28;
        shift += 7;
        n++;
      } while (b >= 0x80 && n < limit);
      if (b >= 0x80 || p > end) return false;
      if (tag === 0x08) movieId = v | 0;
      else if (tag === 0x20) count = v >>> 0;
    } else {
      return false;
    }
  }
  if (p !== end) return false;
  out.movieId = movieId;
  out.mean = mean;
  out.count = count;
  return true;
}

export function decodeRatingFields(bytes: Uint8Array): RatingFields {
  const out: RatingFields = { userId: 0, movieId: 0, value: 0, timestamp: 0, sourceId: 0, sourceRow: 0 };
  try {
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          expectWireType('Rating', no, wt, WireType.Varint);
          out.userId = r.int32();
          break;
        case 2:
          expectWireType('Rating', no, wt, WireType.Varint);
          out.movieId = r.int32();
          break;
        case 3:
          expectWireType('Rating', no, wt, WireType.Bit64);
          out.value = r.double();
          break;
        case 4:
          expectWireType('Rating', no, wt, WireType.Varint);
          out.timestamp = Number(r.int64());
          break;
        case 5:
          expectWireType('Rating', no, wt, WireType.Bit32);
          out.sourceId = r.fixed32();
          break;
        case 6:
          expectWireType('Rating', no, wt, WireType.Varint);
          out.sourceRow = r.uint32();
          break;
        default:
          r.skip(wt, no);
      }
    }
    if (r.pos > r.len) throw new WireFormatError('Rating', 'premature end of message');
  } catch (e) {
    throw e instanceof WireFormatError ? e : new WireFormatError('Rating', (e as Error).message);
  }
  return out;
}

/** Decodes a MeanRating; unknown fields are skipped, bad bytes throw WireFormatError. */
export function decodeMeanRatingFields(bytes: Uint8Array): MeanRatingFields {
  const out: MeanRatingFields = { movieId: 0, mean: 0, sum: 0, count: 0, sourcePartition: 0, sourceOffset: '0' };
  try {
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          expectWireType('MeanRating', no, wt, WireType.Varint);
          out.movieId = r.int32();
          break;
        case 2:
          expectWireType('MeanRating', no, wt, WireType.Bit64);
          out.mean = r.double();
          break;
        case 3:
          expectWireType('MeanRating', no, wt, WireType.Bit64);
          out.sum = r.double();
          break;
        case 4:
          expectWireType('MeanRating', no, wt, WireType.Varint);
          out.count = r.uint32();
          break;
        case 5:
          expectWireType('MeanRating', no, wt, WireType.Varint);
          out.sourcePartition = r.uint32();
          break;
        case 6:
          expectWireType('MeanRating', no, wt, WireType.Varint);
          out.sourceOffset = String(r.int64());
          break;
        default:
          r.skip(wt, no);
      }
    }
    if (r.pos > r.len) throw new WireFormatError('MeanRating', 'premature end of message');
  } catch (e) {
    throw e instanceof WireFormatError ? e : new WireFormatError('MeanRating', (e as Error).message);
  }
  return out;
}
