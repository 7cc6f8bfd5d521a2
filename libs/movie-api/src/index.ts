export {
  compareTop,
  memoryMovieQueries,
  lockedMovieQueries,
  viewOfRow,
  type MovieQueries,
  type MovieView,
  type ReadableMovieRows,
  type TopQuery,
} from './queries';
export { API_PATH, MAX_TOP, withMovieApi, type ServerRoutes } from './http';
