// Every change this project makes to KafkaJS, and the one way they are put in place. KafkaJS 2.2.4 is
// unmaintained, so its fixes live here: each change names one KafkaJS file, the sha256 of the original text
// it was written for, and the module's new exports (a replacement module of the same shape, or the original
// changed in place). Loading this module (kafkajs.ts does, before KafkaJS itself) checks the installed
// version and every pinned file, then replaces each file's exports in Node's module cache before the KafkaJS
// modules that bind them are loaded. That is the same in node, tsx, jest and the apps' bundles: the bundler
// (tools/build) keeps KafkaJS out of the bundle and copies the package beside it, so a bundle loads KafkaJS
// through the same module cache.
import { loadConfig } from '@movie-stream/config';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The KafkaJS release the changes and hashes below were written for. */
export const KAFKAJS_VERSION = '2.2.4';

export interface Change {
  /** The KafkaJS file, relative to the package. */
  file: string;
  /** sha256 of the original file the change was written for. */
  sha256: string;
  /** The file's new exports, given its original ones. */
  replace: (original: never) => unknown;
  /** KafkaJS files that hold the file's exports once loaded (`const x = require('./x')`): loaded after the change. */
  boundBy: string[];
}

/**
 * KAFKAJS_EAGER_FETCH=true keeps KafkaJS's decoding of a whole fetch up front and its own Batch (the fetch
 * changes below without the deferral), to measure the deferral against it (npm run bench -- --variant). Read
 * here, from the environment only: the changes are made when KafkaJS loads, before any service reads its config.
 */
export const EAGER_FETCH = loadConfig(['kafkajsEagerFetch'], []).kafkajsEagerFetch;

// Each replacement module is required here, when its change is applied (not at the top): in table order, so a
// replacement that loads KafkaJS modules (the record batch decoder) loads them after the changes they bind.
export const CHANGES: Change[] = [
  {
    // Groups a send's messages in one pass: the original copies the partition's array per message (quadratic).
    file: 'src/producer/groupMessagesPerPartition.js',
    sha256: 'ea72357721fbf67770b5e06b9bf4260faa1e60f3affb556bff2cc7892c1881fb',
    replace: () => require('./kafkajs-linear-grouping'),
    boundBy: ['src/producer/sendMessages.js'],
  },
  {
    // Varints and varlongs written without a temporary array and Buffer per value (the class changed in place).
    file: 'src/protocol/encoder.js',
    sha256: '9977889e184a9e910e4f6098c36ec6a0ca36c183aa6ead0f24191b6aa1c9a777',
    replace: (encoder: never) => (require('./kafkajs-fast-encoding') as typeof import('./kafkajs-fast-encoding')).withFastVarints(encoder),
    boundBy: [],
  },
  {
    // A record written into a buffer of its exact size instead of 512 zeroed bytes and a method per field.
    file: 'src/protocol/recordBatch/record/v0/index.js',
    sha256: 'ffbc628c1f35f5de8ba798165616b1009d9af1c27ca959999a10e6e3c18f8215',
    replace: () => require('./kafkajs-fast-record'),
    boundBy: ['src/protocol/requests/produce/v3/request.js'],
  },
  {
    // A partition's plain batch written in one pass into one buffer (v4-v7 reuse v3's request).
    file: 'src/protocol/requests/produce/v3/request.js',
    sha256: '993a3db997827088f5acb08cacf3c67a99ec2886303ff465d244329b8a1c7f99',
    replace: () => require('./kafkajs-fast-produce'),
    boundBy: ['src/protocol/requests/produce/v4/request.js', 'src/protocol/requests/produce/v5/request.js'],
  },
  {
    // A fetched record read with numbers and kept as positions in the fetched bytes, not BigInt sums and copies.
    file: 'src/protocol/recordBatch/record/v0/decoder.js',
    sha256: '86d740054c8be29b02873bf2871eb43ba5004af94324610541dbab2d9fabcc65',
    replace: () => require('./kafkajs-fast-record-decoder'),
    boundBy: ['src/protocol/recordBatch/v0/decoder.js'],
  },
  {
    // A partition's records made when its batch is handled, not all of a fetch's up front (the batch's
    // RecordSet); eagerly, a batch's records appended one by one (`push(...records)` throws RangeError past
    // ~100,000 records).
    file: 'src/protocol/requests/fetch/v4/decodeMessages.js',
    sha256: 'd9fede59bebf84ee15169d0ecc54df594a11722b6ba8d5db535ed1d8548d4fcc',
    replace: () =>
      EAGER_FETCH
        ? require('./kafkajs-decode-messages')
        : (require('./kafkajs-deferred-messages') as typeof import('./kafkajs-deferred-messages')).decodeMessages,
    boundBy: [4, 5, 7, 8, 11].map((v) => `src/protocol/requests/fetch/v${v}/response.js`),
  },
  {
    // A batch that decodes its RecordSet when first asked, filters by offset with numbers, and can drop its
    // records once handled (release()).
    file: 'src/consumer/batch.js',
    sha256: '04ee8657247441599f200af5871ce6b3c4463abe941b97405502f8f5f683face',
    replace: (original: never) => (EAGER_FETCH ? original : require('./kafkajs-batch')),
    boundBy: ['src/consumer/consumerGroup.js'],
  },
  {
    // Static membership for the groups given an instance id (setGroupInstanceId): their JoinGroup, SyncGroup
    // and Heartbeat carry it and leave() sends no LeaveGroup (the class changed in place). After the Batch
    // change: loading this file binds the Batch.
    file: 'src/consumer/consumerGroup.js',
    sha256: 'f3e461738585a8dc6574c647123a18afc732f81cdee4f9f7bb62e4aa1dffbfbb',
    replace: (consumerGroup: never) =>
      (require('./kafkajs-static-membership') as typeof import('./kafkajs-static-membership')).withStaticMembership(consumerGroup),
    boundBy: [],
  },
];

/**
 * The other KafkaJS files the changes rely on, pinned the same way: the files that bind a changed module
 * (the change takes effect through their `require`), and those the replacements call or copy code from.
 */
export const RELIED_ON: Record<string, string> = {
  'src/producer/sendMessages.js': '8a120e6993955e040a13014cccebd79b8d41e7355d6eda1065fa83fea2fbbcdb',
  'src/protocol/requests/produce/v4/request.js': '0dc2643c0e3c51ad60ed645ab017234dde1f3e5676088fe0120f873f8e4c6eb0',
  'src/protocol/requests/produce/v5/request.js': '1d5dab00092a1dbd82c2ce90bc33026cedb0dcd7fe548153fca40d2c059ea203',
  'src/protocol/requests/produce/v6/request.js': 'd19ff7d6cdad42cb666028ea5df88b74f714ffdda20126ac3ea70368701728de',
  'src/protocol/requests/produce/v7/request.js': 'bc64c2f2d7feb31ae9c2f03b75a5ec5a290eb9084c703648803e5f15ec1a63eb',
  'src/protocol/recordBatch/v0/index.js': '6d6b63a8959ff0b9ea1198b2d4ec0af940a4c92d5c793bb592310ab46f99df30',
  'src/protocol/recordBatch/v0/decoder.js': '38cae7fc865f9bc51941353e1f6e9419227a8799ba4efb437199393a4eb94819',
  'src/protocol/requests/fetch/v4/response.js': 'e854933fa63e3b4bcf99d02e8af5f068f7ddb2cf96020a71ea7315b7a79b6e5d',
  'src/protocol/requests/fetch/v5/response.js': '1e58c4d4cbbaf6c6cf5cfc80bfb02b7fa28476419179ea239684b86b0b5e9da7',
  'src/protocol/requests/fetch/v7/response.js': '4ae978ae62b17c7d71d35839410dc94976cf678e99425e7b6f307d9edd8ee261',
  'src/protocol/requests/fetch/v8/response.js': 'e7324cd257fe00868e3b52a004038f9bdc5ca47c93ddecff5b92d8d6f3a3c55d',
  'src/protocol/requests/fetch/v11/response.js': '9cb972647500104e7d616edcb4856119f4a716664b64bbb1ee96c8f4f0a83eb6',
  'src/protocol/decoder.js': '83c43fac8d6b8ef2dcf0dfe8bc4494e84c2c94d2b59fbe41a670505a5fcba41b',
  'src/protocol/messageSet/decoder.js': '791fc7649fc2a61a24c1fce7c9b1ded3e4e22a1ec41d6e5d75952f956ad6ab03',
  'src/protocol/recordBatch/header/v0/decoder.js': '050b16c7a8541207dbd34e847b337c1dd1d9587ebd3324126fcafa528eb6a4c6',
  'src/protocol/recordBatch/crc32C/index.js': '0826ea7387f25400b1a24bacdbba85db9c1f2e932f168874728a9ecaf1eb2379',
  'src/protocol/message/compression/index.js': '666ec6400225fe90e42f6a59d7bbda2028f4150699dda04524689ccf1f0cb2c1',
  'src/protocol/requests/apiKeys.js': '3b45eaab564cb47d512fde51dffa29aa6f01d8b2124c43319d223a0d583524f6',
  'src/protocol/timestampTypes.js': '378af03d76b5bdc25bd8796ebfe37a4a24b7ce443164601d2232a445858be96d',
  'src/utils/long.js': 'c85b8ecea7cf07520328e3e9c3b205c4fab5b68a657e3a92c400b582a5c1aa2c',
  'src/errors.js': 'bb3e50177a7b73f4cd35b3318d50a2fc50d9e631488c6ae89669b31aee25c926',
  // The Batch: consumerGroup.js (pinned as a change above) makes it from each fetched partition; its rules for
  // aborted transactions are filterAbortedMessages.js's; the runner asks for its records right before eachBatch and
  // (without eachBatchAutoResolve) only for lastOffset() after; the fetcher and workers keep a fetch's batches until all are handled.
  'src/consumer/filterAbortedMessages.js': '54ce50f2a41ee1686da8b73bf8b502c7dd07c9d7cb0a494cdb36a7fc536ced8e',
  'src/consumer/runner.js': 'fad3247df2e3ba483b94e014e5c5916fd72d7bdfc3b3dfccc5232b60da18306d',
  'src/consumer/fetcher.js': 'a9418ebe7cffdbac79408ebf176450e508420bb2cdb2ae51d79bf4ee1a244c16',
  'src/consumer/worker.js': 'c9171739b9a2394d585093cb08298c3a7f1d9e6b1de43750076bf60c9735a74d',
  // Static membership: the consumer makes its ConsumerGroup in run() (which reads the instance id then) and
  // does not restart it on FENCED_INSTANCE_ID (not retriable); the runner rejoins with an empty member id after
  // UNKNOWN_MEMBER_ID. The Broker's joinGroup (copied with the instance id) and private request sender; the
  // requests that carry the instance id (JoinGroup v5, SyncGroup v3, Heartbeat v3) and their version tables.
  'src/consumer/index.js': 'cdf5b3d7c67364b2b55a5c491225c08318054b515e079fa3aa7b7d9f4d8d19dd',
  'src/broker/index.js': '9cbea8898528c439c213080f99d86974460114f81b5034c49aeb593a0337ca90',
  'src/protocol/requests/index.js': 'fd26a30565d7f0c14883140b7f4edadc42f34278a5f40084009b940c858ea2fd',
  'src/protocol/requests/joinGroup/index.js': '4cb4c7839dba08fd9b7cb141df694debef2c170034763a69054a953f08ccfe7d',
  'src/protocol/requests/joinGroup/v5/request.js': 'de1abd9dd5aa1a25d7d0ce77fd8f4e1c22fa0eb3ca45ca2fc295e99ff11f5e4d',
  'src/protocol/requests/syncGroup/index.js': 'af1092fccc5aee641a42a62024514c1cfe6f9c4c704b77552952170ec17938e4',
  'src/protocol/requests/syncGroup/v3/request.js': '89d389fde4e0276b85f8e269a18adfcf88e69132179bed2c690323049f5ebf63',
  'src/protocol/requests/heartbeat/index.js': '89e6da6d6f7a646286a77385395ac5904bf04acca772ecd40c0985c185dcdabc',
  'src/protocol/requests/heartbeat/v3/request.js': 'b6135c590f0b9a18907afa77033db67f54800eabe738363f077c109c219f492a',
};

const SELF = 'libs/messaging/src/kafkajs-fix.ts';
const DECODE_MESSAGES = 'src/protocol/requests/fetch/v4/decodeMessages.js';
const BATCH = 'src/consumer/batch.js';

/** Throws unless `version` is the KafkaJS release the changes were written for. */
export function checkVersion(version: string, where = 'node_modules/kafkajs'): void {
  if (version === KAFKAJS_VERSION) return;
  throw new Error(
    `kafkajs ${version} is installed (${where}), but ${SELF} changes KafkaJS ${KAFKAJS_VERSION}'s files: ` +
      `install kafkajs ${KAFKAJS_VERSION} (npm ci), or port each change in ${SELF} to ${version} and update its version and hashes`,
  );
}

/** Throws, naming every file whose text differs from its pin; `read` gives a file's bytes (relative to the package). */
export function checkPins(read: (file: string) => Buffer): void {
  const pins = [...CHANGES.map((c): [string, string] => [c.file, c.sha256]), ...Object.entries(RELIED_ON)];
  const wrong = pins.flatMap(([file, sha256]) => {
    const actual = createHash('sha256').update(read(file)).digest('hex');
    return actual === sha256 ? [] : [`kafkajs/${file} (sha256 ${actual}, pinned ${sha256})`];
  });
  if (wrong.length === 0) return;
  throw new Error(
    `KafkaJS files differ from the ones ${SELF} was written for: ${wrong.join('; ')}. ` +
      `Reinstall kafkajs ${KAFKAJS_VERSION} (npm ci: was node_modules patched?), or compare each file with its original, ` +
      `check that the change to it (or the changes relying on it) still fits, then update its hash in ${SELF}`,
  );
}

export type Outcome = 'applied' | 'already' | 'too-late';

// Marks a module-cache entry as changed, for every copy of this module in the process (a second copy finds
// the change in place instead of changing the changed module again).
const CHANGED = Symbol.for('movie-stream.kafkajs-change');

const resolve = (file: string) => require.resolve(`kafkajs/${file}`);

/** Puts one change in place; returns what happened, and the original exports when it replaced them. */
function apply(change: Change): { outcome: Outcome; original?: unknown } {
  const path = resolve(change.file);
  const original: unknown = require(path);
  const cached = require.cache[path] as (NodeJS.Module & { [CHANGED]?: string }) | undefined;
  if (!cached) throw new Error(`kafkajs/${change.file} is not in the module cache after loading it: cannot change it`);
  if (cached[CHANGED]) return { outcome: 'already' };
  const late = change.boundBy.filter((f) => require.cache[resolve(f)]);
  if (late.length > 0) {
    // KafkaJS was loaded before this module (an import of 'kafkajs' outside libs/messaging): it keeps the
    // original here. Said once so that the import gets fixed.
    process.emitWarning(`kafkajs was loaded before @movie-stream/messaging: ${late.join(', ')} keep the original ${change.file}`);
    return { outcome: 'too-late' };
  }
  cached.exports = change.replace(original as never);
  cached[CHANGED] = change.sha256;
  return { outcome: 'applied', original };
}

checkVersion((require('kafkajs/package.json') as { version: string }).version, dirname(require.resolve('kafkajs/package.json')));
checkPins((file) => readFileSync(resolve(file)));
const results = new Map(CHANGES.map((c) => [c.file, apply(c)]));
// A deferred fetch hands RecordSets to the Batch: KafkaJS's own Batch cannot read them.
if (!EAGER_FETCH && results.get(DECODE_MESSAGES)?.outcome === 'applied' && results.get(BATCH)?.outcome !== 'applied') {
  throw new Error(`kafkajs/${BATCH} was loaded before ${SELF}, but not the fetch responses: load @movie-stream/messaging first`);
}

/** What happened to each change's file in this process ('applied' once the seam is loaded first). */
export const outcomes: Record<string, Outcome> = Object.fromEntries([...results].map(([file, r]) => [file, r.outcome]));

/** A changed file's original exports (the module cache holds the change), for the tests that compare them. */
export function originalOf<T>(file: string): T {
  const r = results.get(file);
  if (!r?.original) throw new Error(`kafkajs/${file} was not changed here (${r?.outcome ?? 'not a change'})`);
  return r.original as T;
}
