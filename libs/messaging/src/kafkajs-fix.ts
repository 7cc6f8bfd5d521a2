// Puts the KafkaJS fixes in place when loaded. kafkajs.ts imports it before KafkaJS itself: import order is
// load order, and ES imports run before a module's body, so the fix cannot sit in kafkajs.ts.
import linearGrouping = require('./kafkajs-linear-grouping');
import fastRecord = require('./kafkajs-fast-record');
import fastRecordDecoder = require('./kafkajs-fast-record-decoder');
import fastProduce = require('./kafkajs-fast-produce');
import { fastEncoding } from './kafkajs-fast-encoding';

type Outcome = 'applied' | 'already' | 'too-late';

/**
 * Puts `replacement` in the place of one of KafkaJS's modules. The modules that require it bind it when they
 * are loaded (`const x = require('./x')`), so the module's cached exports are replaced before any of
 * `boundBy` is loaded. In a bundle the bundler has already routed the module to the replacement (and there
 * is no module cache to replace into). `load` requires the module by a literal path, so that a bundler
 * bundles it (and routes it). Returns what happened, and the original when it was replaced (for the tests).
 */
function replaceModule<T>(r: {
  module: string;
  load: () => T;
  replacement: T;
  boundBy: string[];
  /** What keeps the original when KafkaJS was loaded first, for the warning. */
  keeps: string;
}): { outcome: Outcome; original?: T } {
  const loaded = r.load();
  if (loaded === r.replacement) return { outcome: 'already' };
  if (r.boundBy.some((m) => require.cache[require.resolve(m)])) {
    // KafkaJS was loaded before the seam (an import of 'kafkajs' outside it): correct, only slower; said
    // once so that the import gets fixed.
    process.emitWarning(`kafkajs was loaded before @movie-stream/messaging: ${r.keeps}`);
    return { outcome: 'too-late' };
  }
  const cached = require.cache[require.resolve(r.module)];
  if (!cached) throw new Error(`${r.module} is not in the module cache after loading it: cannot put its KafkaJS fix in place`);
  cached.exports = r.replacement;
  return { outcome: 'applied', original: loaded };
}

/** KafkaJS's module, as its producer's sendMessages.js requires it: the linear grouping replaces the quadratic one. */
export const GROUPING_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition';
export const linearGroupingFix = replaceModule({
  module: GROUPING_MODULE,
  load: () => require('kafkajs/src/producer/groupMessagesPerPartition') as typeof linearGrouping,
  replacement: linearGrouping,
  boundBy: ['kafkajs/src/producer/sendMessages'],
  keeps: 'its producers group messages with the original (quadratic) grouping',
}).outcome;

/** The Encoder's varint functions, patched in place when kafkajs-fast-encoding is loaded. */
export const fastEncodingFix = fastEncoding;

/** KafkaJS's record encoder, as its produce request (v3+) requires it. */
export const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0';
/** KafkaJS's produce request (v3; v4-v7 require it when they are first used). */
export const PRODUCE_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request';
/** KafkaJS's decoder of one fetched record, as its record batch decoder requires it. */
export const RECORD_DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder';

const record = replaceModule({
  module: RECORD_MODULE,
  load: () => require('kafkajs/src/protocol/recordBatch/record/v0') as typeof fastRecord,
  replacement: fastRecord,
  boundBy: [PRODUCE_MODULE],
  keeps: 'its producers encode records with the original encoder',
});
// After the record fix: the original produce request loaded here binds the replaced record encoder.
const produce = replaceModule({
  module: PRODUCE_MODULE,
  load: () => require('kafkajs/src/protocol/requests/produce/v3/request') as typeof fastProduce,
  replacement: fastProduce,
  boundBy: [4, 5, 6, 7].map((v) => `kafkajs/src/protocol/requests/produce/v${v}/request`),
  keeps: 'its producers encode batches with the original encoder',
});
const decoder = replaceModule({
  module: RECORD_DECODER_MODULE,
  load: () => require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as typeof fastRecordDecoder,
  replacement: fastRecordDecoder,
  boundBy: ['kafkajs/src/protocol/recordBatch/v0/decoder'],
  keeps: 'its consumers decode records with the original decoder',
});

export const fastRecordFix = record.outcome;
export const fastProduceFix = produce.outcome;
export const fastRecordDecoderFix = decoder.outcome;
/** KafkaJS's originals (the module cache holds the replacements once applied); undefined in a bundle. */
export const originalRecord = record.original;
export const originalProduce = produce.original;
export const originalRecordDecoder = decoder.original;
