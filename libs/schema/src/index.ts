// The wire schema. The generated code under gen/ is made by `npx nx run schema:generate` (buf + protoc-gen-es)
// from proto/; a test fails when it is stale. codec.ts and messages.ts are the hand-written codecs: every
// project encodes and decodes the messages with these (or the generated reflection), none with its own.
export { create, toBinary, fromBinary } from '@bufbuild/protobuf';
export * from './gen/movielens/v1/rating_pb';
export * from './gen/movielens/v1/movie_pb';
export * from './gen/movielens/v1/mean_rating_pb';
export * from './gen/movielens/v1/meta_report_pb';
export * from './codec';
export * from './messages';
