export {
  compareTop,
  memoryMovieQueries,
  lockedMovieQueries,
  viewOfRow,
  type AsOf,
  type MovieAnswer,
  type MovieChanges,
  type MovieQueries,
  type MovieQueriesOptions,
  type TopAnswer,
  type MovieView,
  type ReadableMovieRows,
  type TopQuery,
} from './queries';
export {
  API_PATH,
  MAX_TOP,
  MOVIE_API_DEFAULTS,
  TOP_EVENTS_PATH,
  withMovieApi,
  type MovieApi,
  type MovieApiOptions,
  type ServerRoutes,
} from './http';
export { MovieChangeFeed, MoviePush, type MoviePushOptions } from './push';
export { routedMovieQueries, unavailable, INTERNAL_PATH, type Directory, type Partitioning, type RoutingOptions } from './routing';
