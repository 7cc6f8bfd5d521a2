// Puts the KafkaJS fixes in place when loaded. kafkajs.ts imports it before KafkaJS itself: import order is
// load order, and ES imports run before a module's body, so the fix cannot sit in kafkajs.ts.
import linearGrouping = require('./kafkajs-linear-grouping');
import fastRecord = require('./kafkajs-fast-record');
import fastRecordDecoder = require('./kafkajs-fast-record-decoder');
import fastProduce = require('./kafkajs-fast-produce');
import { fastEncoding } from './kafkajs-fast-encoding';

/** KafkaJS's module, as its producer's sendMessages.js requires it. */
export const GROUPING_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition';
const SEND_MESSAGES_MODULE = 'kafkajs/src/producer/sendMessages';

type Grouping = typeof linearGrouping;

/**
 * Puts the linear grouping in the place of KafkaJS's quadratic one. sendMessages.js binds the function
 * when it is loaded (`const groupMessagesPerPartition = require('./groupMessagesPerPartition')`), so the
 * module's cached exports are replaced before that. In a bundle the bundler has already routed the module
 * to the fix (and there is no module cache to replace into). Returns what happened.
 */
export function applyLinearGrouping(): 'applied' | 'already' | 'too-late' {
  // A literal, so that a bundler bundles the module (and routes it to the fix).
  const loaded = require('kafkajs/src/producer/groupMessagesPerPartition') as Grouping;
  if (loaded === linearGrouping) return 'already';
  if (require.cache[require.resolve(SEND_MESSAGES_MODULE)]) {
    // KafkaJS was loaded before this module (an import of 'kafkajs' outside the seam): its producer keeps
    // the original grouping. Correct, only slower; said once so that the import gets fixed.
    process.emitWarning(
      'kafkajs was loaded before @movie-stream/messaging: its producers group messages with the original (quadratic) grouping',
    );
    return 'too-late';
  }
  const cached = require.cache[require.resolve(GROUPING_MODULE)];
  if (!cached) throw new Error(`${GROUPING_MODULE} is not in the module cache after loading it: cannot apply the KafkaJS grouping fix`);
  cached.exports = linearGrouping;
  return 'applied';
}

export const linearGroupingFix = applyLinearGrouping();

/** KafkaJS's record encoder, as its produce request (v3+) requires it. */
export const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0';
const PRODUCE_REQUEST_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request';

type RecordEncoder = typeof fastRecord;

/** KafkaJS's original record encoder (the module cache holds the replacement once applied); undefined in a bundle. */
export let originalRecord: RecordEncoder | undefined;

/**
 * Puts the pre-sized record encoder in the place of KafkaJS's (as applyLinearGrouping does, and for the
 * same reason: produce/v3/request.js binds the module when it is loaded). The Encoder's varint functions
 * are patched by loading kafkajs-fast-encoding.
 */
export function applyFastRecord(): 'applied' | 'already' | 'too-late' {
  const loaded = require('kafkajs/src/protocol/recordBatch/record/v0') as RecordEncoder;
  if (loaded === fastRecord) return 'already';
  if (require.cache[require.resolve(PRODUCE_REQUEST_MODULE)]) {
    process.emitWarning('kafkajs was loaded before @movie-stream/messaging: its producers encode records with the original encoder');
    return 'too-late';
  }
  const cached = require.cache[require.resolve(RECORD_MODULE)];
  if (!cached) throw new Error(`${RECORD_MODULE} is not in the module cache after loading it: cannot apply the KafkaJS record fix`);
  originalRecord = loaded;
  cached.exports = fastRecord;
  return 'applied';
}

export const fastEncodingFix = fastEncoding;
export const fastRecordFix = applyFastRecord();

/** KafkaJS's decoder of one fetched record, as its record batch decoder requires it. */
export const RECORD_DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder';
const BATCH_DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/v0/decoder';

/** KafkaJS's original record decoder (the module cache holds the replacement once applied); undefined in a bundle. */
export let originalRecordDecoder: typeof fastRecordDecoder | undefined;

/** Puts the number-based record decoder in the place of KafkaJS's (as applyFastRecord). */
export function applyFastRecordDecoder(): 'applied' | 'already' | 'too-late' {
  const loaded = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as typeof fastRecordDecoder;
  if (loaded === fastRecordDecoder) return 'already';
  if (require.cache[require.resolve(BATCH_DECODER_MODULE)]) {
    process.emitWarning('kafkajs was loaded before @movie-stream/messaging: its consumers decode records with the original decoder');
    return 'too-late';
  }
  const cached = require.cache[require.resolve(RECORD_DECODER_MODULE)];
  if (!cached)
    throw new Error(`${RECORD_DECODER_MODULE} is not in the module cache after loading it: cannot apply the KafkaJS decoder fix`);
  originalRecordDecoder = loaded;
  cached.exports = fastRecordDecoder;
  return 'applied';
}

export const fastRecordDecoderFix = applyFastRecordDecoder();

/** KafkaJS's produce request (v3; v4-v7 require it when they are first used). */
export const PRODUCE_MODULE = PRODUCE_REQUEST_MODULE;
const LATER_PRODUCE_MODULES = [4, 5, 6, 7].map((v) => `kafkajs/src/protocol/requests/produce/v${v}/request`);

/** KafkaJS's original produce request (the module cache holds the replacement once applied); undefined in a bundle. */
export let originalProduce: typeof fastProduce | undefined;

/** Puts the produce request that writes plain batches in one buffer in the place of KafkaJS's. */
export function applyFastProduce(): 'applied' | 'already' | 'too-late' {
  const loaded = require('kafkajs/src/protocol/requests/produce/v3/request') as typeof fastProduce;
  if (loaded === fastProduce) return 'already';
  if (LATER_PRODUCE_MODULES.some((m) => require.cache[require.resolve(m)])) {
    process.emitWarning('kafkajs was loaded before @movie-stream/messaging: its producers encode batches with the original encoder');
    return 'too-late';
  }
  const cached = require.cache[require.resolve(PRODUCE_REQUEST_MODULE)];
  if (!cached)
    throw new Error(`${PRODUCE_REQUEST_MODULE} is not in the module cache after loading it: cannot apply the KafkaJS produce fix`);
  originalProduce = loaded;
  cached.exports = fastProduce;
  return 'applied';
}

export const fastProduceFix = applyFastProduce();
