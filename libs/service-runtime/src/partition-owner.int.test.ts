// PartitionedState's claims on the real broker: the fence, the restore of a partition's rows from the changelog
// (folded fetch by fetch), and its bookkeeping of restores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { createKafka, ensureTopics, FencedError, keyPartitioner, PartitionWriter, Publisher } from '@movie-stream/messaging';
import { StorableFrame } from '@movie-stream/storable-frame';
import { Changelog, PartitionedState, RESTORES_KEPT, writerId } from './partition-owner';

jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = createKafka({ brokers, clientId: 'partition-owner-int-test' }, logger);
const admin = kafka.admin();
const prefix = `owner-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
const dir = mkdtempSync(join(tmpdir(), 'partition-owner-test-'));
const input = `${prefix}.input`;
const changelogTopic = `${prefix}.changelog`;
const groupId = `${prefix}.group`;
const PARTITIONS = 2;
const P = 1; // the partition whose changelog is written

interface Row {
  key: string;
  count: number;
}
// A changelog record: the row and the input offset it covers, as JSON.
const changelog: Changelog<string, Row> = {
  topic: changelogTopic,
  decode: (value) => {
    const { key, count, source } = JSON.parse(value.toString()) as { key: string; count: number; source: string };
    return { key, row: { key, count }, sourceOffset: source };
  },
};

let frames = 0;
const newFrame = () =>
  new StorableFrame<string, Row>({
    name: 'test',
    stateDir: join(dir, `state-${++frames}`),
    columns: [
      { name: 'key', kind: 'string', get: (r) => r.key },
      { name: 'count', kind: 'number', get: (r) => r.count },
    ],
    fromRecord: (r) => [r.key, { key: r.key, count: Number(r.count) }],
  });
const states: PartitionedState<string, Row>[] = [];
const newState = (frame: StorableFrame<string, Row>, extra: { changelog?: Changelog<string, Row>; restoreFetchBytes?: number } = {}) => {
  const s = new PartitionedState<string, Row>({ kafka, admin, brokers, groupId, topics: [input], frame, logger, ...extra });
  states.push(s);
  return s;
};
const rowsOf = (frame: StorableFrame<string, Row>) => frame.read((rows) => new Map([...rows.entries()].map(([k, r]) => [k, r.count])));

describe('PartitionedState on a real broker', () => {
  // Per key the last count written to the changelog: what a restore must bring back.
  const expected = new Map<string, number>();
  const KEYS = 20;
  const UPDATES = 100;

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(
      admin,
      [
        { name: input, partitions: PARTITIONS },
        { name: changelogTopic, partitions: PARTITIONS },
      ],
      0,
      logger,
    );
    // The input partition has as many records as the changelog covers (a restore checks it against the end).
    const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
    await publisher.connect();
    await publisher.send(
      input,
      Array.from({ length: KEYS * UPDATES }, (_, i) => ({ partition: P, key: 'x', value: Buffer.from(String(i)) })),
    );
    await publisher.disconnect();
    // Keys of partition P, each updated UPDATES times: many more changelog records than rows, in 40 transactions.
    const partitionOf = keyPartitioner(input, PARTITIONS);
    const keys: string[] = [];
    for (let i = 0; keys.length < KEYS; i++) if (partitionOf(`m${i}`) === P) keys.push(`m${i}`);
    const writer = new PartitionWriter(kafka, { transactionalId: writerId(groupId, P), brokers, logger });
    await writer.open();
    let source = 0;
    for (let batch = 0; batch < 40; batch++) {
      const messages = Array.from({ length: (KEYS * UPDATES) / 40 }, () => {
        const key = keys[source % KEYS];
        const count = (expected.get(key) ?? 0) + 1;
        expected.set(key, count);
        return { key, value: JSON.stringify({ key, count, source: String(++source) }) };
      });
      await writer.send(changelogTopic, P, messages);
    }
    await writer.close();
  });

  afterAll(async () => {
    for (const s of states) await s.close();
    await admin.deleteTopics({ topics: [input, changelogTopic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores a partition with many more changelog records than keys to the last row of each key, folding fetch by fetch', async () => {
    const groupsBefore = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupId));
    // One record batch per fetch: the 40 transactions are folded one after the other.
    const frame = newFrame();
    const state = newState(frame, { changelog, restoreFetchBytes: 1 });
    await state.claim([P]);
    expect(await rowsOf(frame)).toEqual(expected);
    expect(state.restores).toEqual([
      expect.objectContaining({ partition: P, source: 'changelog', recordsRead: KEYS * UPDATES, rowsRestored: KEYS }),
    ]);
    expect(frame.nextOffset(input, P)).toBe(String(KEYS * UPDATES));
    // The same rows with the reader's default fetch size.
    const other = newFrame();
    await newState(other, { changelog }).claim([P]);
    expect(await rowsOf(other)).toEqual(expected);
    // No consumer group was made for the restores.
    const groupsAfter = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupId));
    expect([groupsBefore, groupsAfter]).toEqual([[], []]);
  });

  it('a claim fences the previous owner: its writer is refused with FencedError', async () => {
    const first = newState(newFrame(), { changelog });
    await first.claim([0]);
    const second = newState(newFrame(), { changelog });
    await second.claim([0]);
    const zombie = first.writer(0).send(changelogTopic, 0, [{ key: 'z', value: JSON.stringify({ key: 'z', count: 1, source: '1' }) }]);
    await expect(zombie).rejects.toBeInstanceOf(FencedError);
    await expect(second.writer(0).send(changelogTopic, 0, [{ key: 'y', value: '{}' }])).resolves.toMatch(/^\d+$/);
  });

  it('keeps only the latest restores however often partitions are claimed', async () => {
    const state = newState(newFrame());
    const claims = RESTORES_KEPT + 20;
    for (let i = 0; i < claims; i++) await state.claim([i % PARTITIONS]);
    expect(state.restores.length).toBe(RESTORES_KEPT);
    // The newest is last: the final claim's partition.
    expect(state.restores.at(-1)?.partition).toBe((claims - 1) % PARTITIONS);
  });
});
