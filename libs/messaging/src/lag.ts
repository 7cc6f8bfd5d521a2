import type { Admin } from './kafkajs';

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

/** Committed offset vs end offset per partition (-1 committed counts from the start offset). */
export async function consumerLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const out: PartitionLag[] = [];
  for (const t of committed) {
    const ends = await admin.fetchTopicOffsets(t.topic);
    for (const p of t.partitions) {
      const e = ends.find((x) => x.partition === p.partition);
      const end = Number(e?.high ?? 0);
      const low = Number(e?.low ?? 0);
      const c = Number(p.offset) < 0 ? low : Number(p.offset);
      out.push({ topic: t.topic, partition: p.partition, committed: c, end, lag: Math.max(0, end - c) });
    }
  }
  return out;
}

export const totalLag = (lags: PartitionLag[]) => lags.reduce((s, l) => s + l.lag, 0);
