// PartitionWriter's answers to what a real broker rarely produces, on a stand-in KafkaJS producer: a commit
// whose result lacks the partition, failures that are not fencing, a producer fenced for good.
import { createLogger } from '@movie-stream/logging';
import type { Kafka } from './kafkajs';
import { FencedError, PartitionWriteError, PartitionWriter } from './partition-writer';

const logger = createLogger({ service: 'test', level: 'error', format: 'json' });

type Send = (n: number) => Promise<{ topicName: string; partition: number; errorCode: number; baseOffset?: string }[]>;

/** A KafkaJS client whose transactional producer answers each tx.send with `send(the send's number)`. */
function fakeKafka(send: Send) {
  const calls = { sends: 0, commits: 0, aborts: 0 };
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    transaction: async () => ({
      send: () => send(++calls.sends),
      commit: async () => void calls.commits++,
      abort: async () => void calls.aborts++,
    }),
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, calls };
}

const opened = async (send: Send, attempts = 3) => {
  const { kafka, calls } = fakeKafka(send);
  const w = new PartitionWriter(kafka, { transactionalId: 'g.p01', brokers: ['b:9092'], logger, attempts });
  await w.open();
  return { w, calls };
};
const kafkaError = (message: string, extra: object = {}) => Object.assign(new Error(message), extra);

describe('PartitionWriter', () => {
  it('returns the offset after the commit marker', async () => {
    const { w } = await opened(async () => [{ topicName: 't', partition: 1, errorCode: 0, baseOffset: '40' }]);
    await expect(w.send('t', 1, [{ value: 'a' }, { value: 'b' }])).resolves.toBe('42');
  });

  it('a committed transaction whose result lacks the partition is an error, not offset 0, and is not sent again', async () => {
    const { w, calls } = await opened(async () => [{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '7' }]);
    const sent = w.send('t', 1, [{ value: 'a' }]);
    await expect(sent).rejects.toBeInstanceOf(PartitionWriteError);
    await expect(sent).rejects.not.toBeInstanceOf(FencedError);
    expect(calls).toMatchObject({ sends: 1, commits: 1 });
  });

  it('nothing to send is refused instead of answered with an offset', async () => {
    const { w, calls } = await opened(async () => []);
    await expect(w.send('t', 1, [])).rejects.toBeInstanceOf(PartitionWriteError);
    expect(calls.sends).toBe(0);
  });

  it('giving up after the attempts is a PartitionWriteError, not a FencedError', async () => {
    const { w, calls } = await opened(async () => {
      throw kafkaError('Request timed out', { retriable: true });
    }, 2);
    const sent = w.send('t', 1, [{ value: 'a' }]);
    await expect(sent).rejects.toBeInstanceOf(PartitionWriteError);
    await expect(sent).rejects.not.toBeInstanceOf(FencedError);
    await expect(sent).rejects.toThrow(/gave up after 2 attempts: Request timed out/);
    expect(calls).toMatchObject({ sends: 2, aborts: 3 }); // the open's empty transaction, then one per failed send
  });

  it('a refusal the broker says no retry can cure fails at once, with the broker error as its cause', async () => {
    const tooLarge = kafkaError('The request included a message larger than the max message size the server will accept', {
      type: 'MESSAGE_TOO_LARGE',
      retriable: false,
    });
    const { w, calls } = await opened(async () => {
      throw tooLarge;
    }, 8);
    const sent = w.send('t', 1, [{ value: 'a' }]);
    await expect(sent).rejects.toThrow(/refused: The request included a message larger/);
    await expect(sent).rejects.toMatchObject({ retriable: false, cause: { cause: tooLarge } });
    expect(calls.sends).toBe(1);
  });

  it('an error KafkaJS marks not retriable but that passes (too few in-sync replicas while brokers are down) is retried, then given up on as retriable', async () => {
    const { w, calls } = await opened(async () => {
      throw kafkaError('Messages are rejected since there are fewer in-sync replicas than required', {
        type: 'NOT_ENOUGH_REPLICAS',
        retriable: false,
      });
    }, 3);
    const sent = w.send('t', 1, [{ value: 'a' }]);
    await expect(sent).rejects.toThrow(/gave up after 3 attempts: Messages are rejected/);
    await expect(sent).rejects.toMatchObject({ retriable: true });
    expect(calls.sends).toBe(3);
  });

  it('a producer stuck in a transaction state gives up at once, also not as fenced', async () => {
    const { w, calls } = await opened(async () => {
      throw kafkaError('Transaction state exception: Invalid state transition');
    });
    const sent = w.send('t', 1, [{ value: 'a' }]);
    await expect(sent).rejects.toBeInstanceOf(PartitionWriteError);
    await expect(sent).rejects.not.toBeInstanceOf(FencedError);
    expect(calls.sends).toBe(1);
  });

  it('once fenced, every later send is fenced too, whatever the producer answers then', async () => {
    const { w } = await opened(async (n) => {
      if (n === 1) throw kafkaError('This instance has been fenced by a newer instance', { type: 'PRODUCER_FENCED', code: 90 });
      throw kafkaError('Transaction state exception: Invalid state transition');
    });
    await expect(w.send('t', 1, [{ value: 'a' }])).rejects.toBeInstanceOf(FencedError);
    await expect(w.send('t', 1, [{ value: 'b' }])).rejects.toBeInstanceOf(FencedError);
  });
});
