// Producer compression, and the LZ4 codec KafkaJS lacks. Kafka's LZ4 (record batch v2) is the standard LZ4
// frame format, which lz4-napi writes and reads. lz4-napi is a native module: it is loaded on first use only
// (a producer configured with lz4, or the first lz4 batch a consumer reads), so a process that never meets
// lz4 runs without it.

/** The values of the compression setting (KAFKA_COMPRESSION). */
export const COMPRESSIONS = ['none', 'gzip', 'lz4'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Kafka's codec ids (the low bits of a record batch's attributes), as KafkaJS's CompressionTypes. */
export const COMPRESSION_CODEC_IDS: Record<Compression, number> = { none: 0, gzip: 1, lz4: 3 };

/**
 * Kafka's codec id for a compression setting. With lz4 the native codec is loaded here, so that a process
 * without it stops at start with the reason, instead of retrying its first send forever.
 */
export function codecId(compression: Compression | undefined): number {
  const c = compression ?? 'none';
  const id = (COMPRESSION_CODEC_IDS as Record<string, number>)[c];
  if (id === undefined) throw new Error(`KAFKA_COMPRESSION (--compression) must be one of ${COMPRESSIONS.join(', ')}, not '${c}'`);
  if (c === 'lz4') loadLz4();
  return id;
}

/** The frame functions of lz4-napi that the codec uses. */
export interface Lz4Frames {
  compressFrame(data: Uint8Array): Promise<Buffer>;
  decompressFrame(data: Uint8Array): Promise<Buffer>;
}

/**
 * Loads lz4-napi. Throws an error naming the setting and the package when it cannot be loaded (a bundle
 * deployed without its node_modules/lz4-napi, or a platform without a prebuilt binary).
 */
export function requireLz4(load: () => Lz4Frames = () => require('lz4-napi') as Lz4Frames): Lz4Frames {
  try {
    return load();
  } catch (e) {
    throw new Error(
      'LZ4 compression (KAFKA_COMPRESSION=lz4, or an lz4-compressed batch read from Kafka) needs the native package lz4-napi, ' +
        `which cannot be loaded here: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

let lz4: Lz4Frames | undefined;

/** lz4-napi, loaded on first use. */
export const loadLz4 = (): Lz4Frames => (lz4 ??= requireLz4());

/** LZ4 frame magic number (little-endian on the wire: 04 22 4D 18). */
export const LZ4_FRAME_MAGIC = 0x184d2204;

/**
 * The LZ4 codec in KafkaJS's form (`CompressionCodecs[CompressionTypes.LZ4] = lz4Codec`): compress gets the
 * encoder of a batch's records, decompress the compressed records of a batch. lz4-napi's default frame
 * (independent 64 KiB blocks, no checksums) is the one Kafka's Java client writes too.
 */
export function lz4Codec(): { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> } {
  return {
    compress: async (encoder) => loadLz4().compressFrame(encoder.buffer),
    decompress: async (buffer) => loadLz4().decompressFrame(buffer),
  };
}
