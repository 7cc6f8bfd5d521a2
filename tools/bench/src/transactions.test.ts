import { kafkaTransactions } from './transactions';

describe('kafkaTransactions', () => {
  it('counts one marker per transaction and partition: the end offsets beyond the records read', () => {
    // 3 partitions: 4 + 2 + 1 transactions of 10 records each, every one followed by its commit marker.
    const perPartition = [4, 2, 1];
    const records = perPartition.reduce((s, t) => s + t * 10, 0);
    const endOffsets = perPartition.reduce((s, t) => s + t * 11, 0);
    expect(kafkaTransactions(endOffsets, records, 700)).toEqual({ transactions: 7, ratingsPerTransaction: 100 });
  });

  it('is 0 without transactions (the database mode publishes without them), never negative', () => {
    expect(kafkaTransactions(500, 500, 1000).transactions).toBe(0);
    expect(kafkaTransactions(499, 500, 1000).transactions).toBe(0);
    expect(kafkaTransactions(500, 500, 1000).ratingsPerTransaction).toBeNaN();
  });
});
