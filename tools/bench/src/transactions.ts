// Kafka transactions of the processor, counted from its output topic: every transaction that wrote to a
// partition ends there with a control record (commit or abort marker) that takes an offset but is never
// delivered. So the markers in mean-ratings are its end offsets minus the records a read_committed reader got
// (the sink's count). Aborted transactions' records are counted as markers too; a clean bench run has none.

/** Transactions ended (one marker per partition written) and ratings per transaction. */
export function kafkaTransactions(
  meanRatingsEndOffsets: number,
  meanRatingRecordsRead: number,
  ratings: number,
): { transactions: number; ratingsPerTransaction: number } {
  const transactions = Math.max(0, meanRatingsEndOffsets - meanRatingRecordsRead);
  return { transactions, ratingsPerTransaction: transactions > 0 ? ratings / transactions : NaN };
}
