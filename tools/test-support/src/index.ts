export { describeWithMovielens, findMovielensDir, movielensDir } from './movielens-dir';
export {
  computeReferenceMeans,
  compareMovieData,
  parseSemicolonCsv,
  readSemicolonCsv,
  type ReferenceMean,
} from './reference';
