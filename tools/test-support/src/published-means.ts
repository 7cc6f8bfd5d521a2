import { randomBytes } from 'node:crypto';
import { decodeMeanChangelog } from '@movie-stream/mean-rating';
import { readTopicRange } from '@movie-stream/messaging';
import type { PipelineRun } from '@movie-stream/pipeline-run';

export interface PublishedMean {
  /** The movie's last MeanRating. */
  sum: number;
  count: number;
  /** The highest count published for the movie. */
  maxCount: number;
}

/** Per movie, the last MeanRating on the run's mean-ratings topic (read_committed) and the highest count published. */
export async function publishedMeans(run: PipelineRun): Promise<Map<number, PublishedMean>> {
  const out = new Map<number, PublishedMean>();
  await readTopicRange(run.kafka, {
    topics: [run.topics.meanRatings],
    groupId: `${run.runId}.check-${randomBytes(3).toString('hex')}`,
    what: run.topics.meanRatings,
    onMessage: (m) => {
      const d = m.value && decodeMeanChangelog(m.value);
      if (!d) return;
      const prev = out.get(d.key);
      out.set(d.key, { sum: d.row.sum, count: d.row.count, maxCount: Math.max(prev?.maxCount ?? 0, d.row.count) });
    },
  });
  return out;
}

/**
 * What differs between the movies' last MeanRatings and the independent computation (`expected`, e.g.
 * computeReferenceMeans' means): a movie with another sum or count, one never published, one published without
 * ratings. Empty when every movie is exact.
 */
export function publishedMismatches(
  published: ReadonlyMap<number, PublishedMean>,
  expected: ReadonlyMap<number, { sum: number; count: number }>,
): string[] {
  const wrong: string[] = [];
  for (const [id, m] of expected) {
    const p = published.get(id);
    if (!p || p.count !== m.count || Math.abs(p.sum - m.sum) > 1e-6)
      wrong.push(`movie ${id}: ${p?.sum}/${p?.count}, expected ${m.sum}/${m.count}`);
  }
  for (const id of published.keys()) if (!expected.has(id)) wrong.push(`movie ${id}: published, but has no ratings`);
  return wrong;
}
