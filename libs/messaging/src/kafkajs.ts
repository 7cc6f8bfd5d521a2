// The one runtime entry to KafkaJS in the project: every file of libs/messaging loads the client through
// here (eslint says so), so KafkaJS is checked and changed (kafkajs-fix.ts) before its client is first loaded,
// and the LZ4 codec is registered in every process that uses the seam (a consumer must read lz4 batches
// whoever wrote them).
import './kafkajs-fix';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { lz4Codec } from './compression';

CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;

export * from 'kafkajs';
