// mean-rating-processor (the seed's "meanratingproducer"): ratings → sum/count per movie → mean-ratings.
// --state file: per-partition state in snapshots; --state postgres: sums and counts in PostgreSQL.
import { applyRatingsBatch, getRatingsState } from '@movie-stream/movie-db';
import { aggregate, decodeMeanChangelog, decodeRatings, meanFromRecord, MovieMean, MEAN_RATING_COLUMNS } from '@movie-stream/mean-rating';
import { encodeMeanRating } from '@movie-stream/schema';
import {
  BadMessage,
  DATABASE_CONSUMER_OPTIONS,
  modeOf,
  runDatabaseConsumer,
  runService,
  runStatefulConsumer,
  sendToDeadLetterQueue,
} from '@movie-stream/service-runtime';

runService(
  'mean-rating-processor',
  [...DATABASE_CONSUMER_OPTIONS, 'processorState', 'coalesceMaxMs', 'coalesceMaxRatings'],
  async (ctx) => {
    const mode = modeOf(ctx.config.processorState, 'PROCESSOR_STATE (--state)', ['file', 'postgres'] as const);
    // Several batches of a partition become one update per movie: fewer mean-ratings messages for the sink.
    const coalesce = { maxMs: ctx.config.coalesceMaxMs as number, maxMessages: ctx.config.coalesceMaxRatings as number };
    if (coalesce.maxMs < 0 || coalesce.maxMessages < 0) throw new Error('COALESCE_MAX_MS and COALESCE_MAX_RATINGS must be 0 or more');
    if (mode === 'postgres') {
      // A batch is committed, then published: a crash in between would leave its movies' means unpublished
      // with the stored offset past them. So the database also keeps how far the publishes are acknowledged
      // (per partition, written with the partition's next batch: it may lag one batch, which costs only a
      // re-publish), and a restarted or new owner reads again from there: the batches it finds stored are
      // replays, whose movies' current rows it publishes again.
      const published = new Map<number, string>();
      const result = await runDatabaseConsumer({
        ctx,
        topics: [ctx.topics.ratings],
        coPartitionedWith: [ctx.topics.meanRatings],
        coalesce,
        handle: async (batch, db, groupId, publisher) => {
          const bad: BadMessage[] = [];
          const ratings = decodeRatings(batch.messages, (message, reason) => bad.push({ message, reason }));
          await sendToDeadLetterQueue(ctx, publisher, batch, bad);
          // aggregate over an empty table: the batch's sum and count per movie, the deltas the database adds.
          const deltas = aggregate(new Map<number, MovieMean>(), ratings);
          const { topic, partition, firstOffset, nextOffset } = batch;
          const publishedOffset = published.get(partition);
          const res = await applyRatingsBatch(db, { groupId, topic, partition, firstOffset, nextOffset, deltas, publishedOffset });
          // A replay (the commit happened, the publish may not have: a crash in between) publishes the
          // current rows again: they are absolute, and the sink keeps the one with the highest count.
          const rows = res.status === 'applied' ? res.rows : await getRatingsState(db, ratings.movies());
          // After the commit; Publisher retries a failed send until it is acknowledged.
          const source = { partition: batch.partition, offset: batch.nextOffset };
          await publisher.send(
            ctx.topics.meanRatings,
            rows.map((m) => ({ key: String(m.movieId), value: encodeMeanRating(m, source), partition: batch.partition })),
          );
          published.set(partition, nextOffset);
          return res;
        },
      });
      ctx.logger.info('movie_ratings_state: stopped', { result });
      return;
    }
    const result = await runStatefulConsumer<number, MovieMean>({
      ctx,
      name: 'mean-ratings',
      columns: MEAN_RATING_COLUMNS,
      fromRecord: meanFromRecord,
      topics: [ctx.topics.ratings],
      // Partition p of ratings is written to partition p of mean-ratings, which is also its changelog.
      coPartitionedWith: [ctx.topics.meanRatings],
      changelog: { topic: ctx.topics.meanRatings, decode: decodeMeanChangelog },
      coalesce,
      handle: async (batch, frame, publisher, state) => {
        const bad: BadMessage[] = [];
        const ratings = decodeRatings(batch.messages, (message, reason) => bad.push({ message, reason }));
        const source = { partition: batch.partition, offset: batch.nextOffset };
        await frame.update(async (rows, recordOffset) => {
          const updated = aggregate(rows, ratings);
          // Publish before applying: if a publish fails (or is fenced), neither state nor offset has moved.
          await sendToDeadLetterQueue(ctx, publisher, batch, bad);
          if (updated.length) {
            const next = await state.writer(batch.partition).send(
              ctx.topics.meanRatings,
              batch.partition,
              updated.map((m) => ({ key: String(m.movieId), value: encodeMeanRating(m, source) })),
            );
            recordOffset(ctx.topics.meanRatings, batch.partition, next);
          }
          for (const m of updated) rows.set(m.movieId, m);
          recordOffset(batch.topic, batch.partition, batch.nextOffset);
        });
      },
    });
    ctx.logger.info(`mean-ratings: ${result.rows} movies`, { result });
  },
);
