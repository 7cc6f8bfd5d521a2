export type { RatingRow, MovieRow, RejectedRow, ReadStats, ReadOptions, ReadResult } from './types';
export { readRatings, readMovies } from './reader';
export { RejectedRowsFile } from './rejected-rows-file';
export { parseRatingFields, parseMovieFields, RATINGS_HEADER, MOVIES_HEADER } from './validate';
export { quoteCsvField } from './csv-quote';
