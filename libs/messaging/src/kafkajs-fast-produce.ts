// A drop-in replacement for KafkaJS 2.2.4's src/protocol/requests/produce/v3/request.js (v4-v7 reuse it):
// the original's code, except that a partition's uncompressed batch of plain records (no headers, no
// timestamps: what the Publisher and the PartitionWriter send) is written into one buffer of its exact
// size. The original makes a copy of every message, an Encoder per record, and grows the batch's Encoder
// by doubling: after the record fix, the rating-producer's largest item. Other batches take the original
// path. kafkajs-fast-encoding.test.ts compares the requests' bytes with the original's on generated ones.
import { dataSize, Encoder, EncoderInstance, uvarintSize, writeData, writeUVarIntAt, zigzag32 } from './kafkajs-fast-encoding';
import Record = require('./kafkajs-fast-record');

// KafkaJS's own modules, as the original uses them (literal paths, so that a bundler bundles them).
const Long = require('kafkajs/src/utils/long') as { fromInt(v: number): unknown; fromValue(v: unknown): { toString(): string } };
const { Produce: apiKey } = require('kafkajs/src/protocol/requests/apiKeys') as { Produce: number };
const { Types } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number } };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(args: Record<string, unknown>): Promise<EncoderInstance>;
};
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

interface Message {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
  timestamp?: string | number | null;
}
interface PartitionData {
  partition: number;
  messages: Message[];
  firstSequence?: number;
}
interface TopicData {
  topic: string;
  partitions: PartitionData[];
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}
interface Context {
  transactionalId: string | null;
  producerId: unknown;
  producerEpoch: number;
}

const TRANSACTIONAL_MASK = 16;
const MAGIC_BYTE = 2;

function produceRequest({
  acks,
  timeout,
  transactionalId = null,
  producerId = Long.fromInt(-1),
  producerEpoch = 0,
  compression = Types.None,
  topicData,
}: ProduceArgs) {
  return {
    apiKey,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async () => {
      const encodedTopicData = [];
      for (const data of topicData)
        encodedTopicData.push(await encodeTopic(compression, data, { transactionalId, producerId, producerEpoch }));
      return new Encoder().writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeArray(encodedTopicData);
    },
  };
}

async function encodeTopic(compression: number, { topic, partitions }: TopicData, ctx: Context) {
  const encodedPartitions = [];
  for (const data of partitions) encodedPartitions.push(await encodePartition(compression, data, ctx));
  return new Encoder().writeString(topic).writeArray(encodedPartitions);
}

/** Plain records only: no headers and no timestamps (those keep the original's sorting and deltas). */
function plain(messages: Message[]): boolean {
  for (const m of messages) {
    if (m.timestamp != null) return false;
    if (m.headers !== undefined && (m.headers === null || Object.keys(m.headers).length > 0)) return false;
  }
  return true;
}

async function encodePartition(compression: number, data: PartitionData, ctx: Context): Promise<EncoderInstance> {
  if (compression !== Types.None || !plain(data.messages) || data.messages.length === 0) return originalPartition(compression, data, ctx);
  const { partition, messages, firstSequence = 0 } = data;
  const dateNow = Date.now();
  // Every record: attributes, timestamp delta 0, offset delta i, key, value, no headers.
  const n = messages.length;
  // Sizes measured once, then written: the key's, the value's and the record body's of every message.
  const keySizes = new Array<number>(n);
  const valueSizes = new Array<number>(n);
  const bodySizes = new Array<number>(n);
  let recordsBytes = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i];
    const k = (keySizes[i] = dataSize(m.key));
    const v = (valueSizes[i] = dataSize(m.value));
    const body = (bodySizes[i] =
      3 + uvarintSize(zigzag32(i)) + uvarintSize(zigzag32(k)) + Math.max(0, k) + uvarintSize(zigzag32(v)) + Math.max(0, v));
    recordsBytes += uvarintSize(zigzag32(body)) + body;
  }
  const bodyBytes = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + recordsBytes; // attributes … firstSequence, count, records
  const batchBytes = 4 + 1 + 4 + bodyBytes; // partitionLeaderEpoch, magic, crc, body
  const recordBatchBytes = 8 + 4 + batchBytes; // firstOffset, length
  const e = new Encoder(4 + 4 + recordBatchBytes)
    .writeInt32(partition)
    .writeInt32(recordBatchBytes)
    .writeInt64(0) // firstOffset
    .writeInt32(batchBytes)
    .writeInt32(0) // partitionLeaderEpoch
    .writeInt8(MAGIC_BYTE)
    .writeUInt32(0); // crc, set below
  const crcAt = e.offset - 4;
  const bodyAt = e.offset;
  e.writeInt16(ctx.transactionalId ? TRANSACTIONAL_MASK : 0)
    .writeInt32(n - 1)
    .writeInt64(dateNow)
    .writeInt64(dateNow)
    .writeInt64(ctx.producerId)
    .writeInt16(ctx.producerEpoch)
    .writeInt32(firstSequence)
    .writeInt32(n);
  const buf = e.buf;
  let o = e.offset;
  for (let i = 0; i < n; i++) {
    const m = messages[i];
    o = writeUVarIntAt(buf, o, zigzag32(bodySizes[i]));
    buf[o++] = 0; // attributes
    buf[o++] = 0; // timestamp delta
    o = writeUVarIntAt(buf, o, zigzag32(i));
    o = writeData(buf, o, m.key, keySizes[i]);
    o = writeData(buf, o, m.value, valueSizes[i]);
    buf[o++] = 0; // no headers
  }
  e.offset = o;
  buf.writeUInt32BE(crc32C(buf.subarray(bodyAt, o)), crcAt);
  return e;
}

/** The original's partition encoder. */
async function originalPartition(
  compression: number,
  { partition, messages, firstSequence }: PartitionData,
  { transactionalId, producerId, producerEpoch }: Context,
): Promise<EncoderInstance> {
  const dateNow = Date.now();
  const messageTimestamps = messages
    .map((m) => m.timestamp)
    .filter((timestamp) => timestamp != null)
    .sort();
  const timestamps = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps;
  const firstTimestamp = timestamps[0] as number;
  const maxTimestamp = timestamps[timestamps.length - 1];
  const records = messages.map((message, i) =>
    Record({
      ...(message as Parameters<typeof Record>[0]),
      offsetDelta: i,
      timestampDelta: ((message.timestamp as number) || dateNow) - firstTimestamp,
    }),
  );
  const recordBatch = await RecordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    firstSequence,
    transactional: !!transactionalId,
    lastOffsetDelta: records.length - 1,
  });
  return new Encoder().writeInt32(partition).writeInt32(recordBatch.size()).writeEncoder(recordBatch);
}

// The shape of the module it replaces (module.exports = the function).
export = produceRequest;
