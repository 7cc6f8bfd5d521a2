// The LZ4 codec: round trips, writes standard LZ4 frames (the format Kafka's record batches use), reads frames
// of the reference implementation, and is the codec KafkaJS uses once the seam is loaded.
import { randomBytes } from 'node:crypto';
import { CompressionCodecs, CompressionTypes } from './kafkajs';
import { codecId, LZ4_FRAME_MAGIC, lz4Codec, requireLz4 } from './compression';

const encoder = (buffer: Buffer) => ({ buffer });

/** Checks the LZ4 frame layout (lz4_Frame_format.md) and returns its blocks' sizes. */
function parseFrame(frame: Buffer): { flg: number; bd: number; blocks: number[] } {
  expect(frame.readUInt32LE(0)).toBe(LZ4_FRAME_MAGIC);
  const flg = frame[4];
  const bd = frame[5];
  let pos = 7; // magic, FLG, BD, header checksum (no content size: bit 3 of FLG is checked below)
  const blocks: number[] = [];
  for (;;) {
    const word = frame.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // EndMark
    const size = word & 0x7fffffff; // high bit: the block is stored uncompressed
    blocks.push(size);
    pos += size + (flg & 0x10 ? 4 : 0); // block checksum
  }
  pos += flg & 0x04 ? 4 : 0; // content checksum
  expect(pos).toBe(frame.length);
  return { flg, bd, blocks };
}

// Written by the reference lz4 command line tool (lz4 1.9, default options: content checksum on).
const REFERENCE_TEXT = 'movie-stream lz4 frame from the reference lz4 tool, movie-stream lz4 frame';
const REFERENCE_FRAME = Buffer.from(
  '04224d186440a73c000000f11a6d6f7669652d73747265616d206c7a34206672616d652066726f6d20746865207265666572656e63651d006d746f6f6c2c203400506672616d65000000006b94bc17',
  'hex',
);

describe('LZ4 codec', () => {
  const codec = lz4Codec();

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('1,31,2.5,1260759144\n'.repeat(5000))],
    ['random (stored uncompressed)', randomBytes(300_000)],
  ])('round-trips %s records', async (_, data) => {
    const compressed = await codec.compress(encoder(data));
    expect(Buffer.compare(await codec.decompress(compressed), data)).toBe(0);
  });

  it('writes an LZ4 frame as Kafka reads them: version 1, independent blocks, no content size', async () => {
    const data = Buffer.from('1,31,2.5,1260759144\n'.repeat(20_000));
    const compressed = await codec.compress(encoder(data));
    const { flg, bd, blocks } = parseFrame(compressed);
    expect(flg >> 6).toBe(1); // version
    expect(flg & 0x20).toBe(0x20); // block independence
    expect(flg & 0x08).toBe(0); // no content size
    // Block maximum size 64 KiB..4 MiB (lz4-napi picks it from the input's size; Kafka reads all four).
    expect((bd >> 4) & 0x07).toBeGreaterThanOrEqual(4);
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(compressed.length).toBeLessThan(data.length / 4);
  });

  it('reads a frame written by the reference implementation', async () => {
    expect((await codec.decompress(REFERENCE_FRAME)).toString()).toBe(REFERENCE_TEXT);
  });

  it('rejects bytes that are not an LZ4 frame', async () => {
    await expect(codec.decompress(Buffer.from('not an lz4 frame'))).rejects.toThrow();
  });

  it('is the codec KafkaJS uses for LZ4 once the seam is loaded', () => {
    expect(CompressionCodecs[CompressionTypes.LZ4]).toBe(lz4Codec);
  });
});

describe('compression setting', () => {
  it("maps to Kafka's codec ids", () => {
    expect([codecId(undefined), codecId('none'), codecId('gzip'), codecId('lz4')]).toEqual([0, 0, 1, 3]);
  });

  it('names the setting for a value it does not know', () => {
    expect(() => codecId('zstd' as never)).toThrow(/KAFKA_COMPRESSION.*none, gzip, lz4.*'zstd'/);
  });

  it('names the setting and the package when lz4-napi cannot be loaded', () => {
    const missing = () => {
      throw new Error("Cannot find module 'lz4-napi'\nRequire stack: ...");
    };
    expect(() => requireLz4(missing)).toThrow(/KAFKA_COMPRESSION=lz4.*lz4-napi.*Cannot find module 'lz4-napi'$/);
  });
});
