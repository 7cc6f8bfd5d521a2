export { describeWithMovielens, findMovielensDir, movielensDir } from './movielens-dir';
export {
  computeReferenceMeans,
  compareMovieData,
  movieDataMismatches,
  movieIdsOf,
  parseSemicolonCsv,
  readSemicolonCsv,
  type ReferenceMean,
} from './reference';
export { KafkaCluster, type KafkaClusterOptions } from './kafka-cluster';
export { cachedDataset, datasetKey, sliceRatings, splitRatings, type CachedDataset, type DatasetParams } from './datasets';
export { freePort, freePorts, until } from './wait';
export { teardownAfterAll, type Teardown } from './teardown';
export { ownDatabase, quietLogger, storedProgress, TEST_DATABASE_SERVER } from './own-database';
export { publishedMeans, publishedMismatches, type PublishedMean } from './published-means';
