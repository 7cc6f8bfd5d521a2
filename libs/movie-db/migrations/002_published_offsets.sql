-- The processor publishes a batch's MeanRatings after the transaction that stored the batch: a crash in
-- between leaves rows stored but not published, and next_offset is already past them. published_offset is
-- how far its publishes are acknowledged (it may lag: that costs a harmless re-publish); a restarted
-- processor reads again from there, and the batches found stored are published again (absolute rows).
-- NULL: the group does not publish (the sink), or had not written the partition since this migration.
ALTER TABLE consumer_offsets
  ADD COLUMN published_offset bigint,
  ADD CONSTRAINT consumer_offsets_published_offset CHECK (published_offset BETWEEN 0 AND next_offset);
