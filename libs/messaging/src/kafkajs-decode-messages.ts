// A drop-in replacement for KafkaJS 2.2.4's src/protocol/requests/fetch/v4/decodeMessages.js (fetch v4-v11
// responses decode a partition's records with it). The original appends each record batch's records with
// `records.push(...recordBatch.records)`: one argument per record, so a batch of more than about 100,000 to
// 150,000 records (the stack decides; reachable with lz4 and large batches) throws RangeError "Maximum call
// stack size exceeded", every time: the consumer can never get past that batch. Here they are appended one by one; the rest is the original's code.
// kafkajs-fix.ts puts it in place with KAFKAJS_EAGER_FETCH=1 (kafkajs-deferred-messages.ts otherwise);
// kafkajs-decode-messages.test.ts decodes 300,000 records in one batch.

interface DecoderInstance {
  readInt32(): number;
  canReadBytes(length: number): boolean;
  readBytes(length: number): Buffer;
}

// KafkaJS's own modules, as the original uses them (the record batch decoder binds the fast record decoder:
// kafkajs-fix.ts loads this module after that change).
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => DecoderInstance;
const MessageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder') as (d: DecoderInstance, size: number) => Promise<unknown[]>;
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  d: DecoderInstance,
) => Promise<{ records: unknown[] }>;
const { MAGIC_BYTE } = require('kafkajs/src/protocol/recordBatch/v0') as { MAGIC_BYTE: number };

// The magic byte is at the same offset in every message format; a record batch is at least this long.
const MAGIC_OFFSET = 16;
const RECORD_BATCH_OVERHEAD = 49;

async function decodeMessages(decoder: DecoderInstance): Promise<unknown[]> {
  const messagesSize = decoder.readInt32();
  if (messagesSize <= 0 || !decoder.canReadBytes(messagesSize)) return [];
  const messagesBuffer = decoder.readBytes(messagesSize);
  const messagesDecoder = new Decoder(messagesBuffer);
  const magicByte = messagesBuffer.slice(MAGIC_OFFSET).readInt8(0);
  if (magicByte !== MAGIC_BYTE) return MessageSetDecoder(messagesDecoder, messagesSize);
  const records: unknown[] = [];
  while (messagesDecoder.canReadBytes(RECORD_BATCH_OVERHEAD)) {
    try {
      const recordBatch = await RecordBatchDecoder(messagesDecoder);
      for (const record of recordBatch.records) records.push(record);
    } catch (e) {
      // The tail of a fetch can end in a partial batch (how maxBytes works): the records before it count.
      if ((e as Error).name === 'KafkaJSPartialMessageError') break;
      throw e;
    }
  }
  return records;
}

// The shape of the module it replaces (module.exports = the function).
export = decodeMessages;
