// How `npm start` names a run's topics, in one place: the pipeline creates them, the report and the
// monitor find them again (a run's meta topics are run-<id>.meta.published / .consumed).
import type { Kafka } from './kafkajs';

export interface RunRef {
  runId: string;
  /** When the run started (from its id), epoch ms. */
  startedMs: number;
  /** Its meta topics are <metaPrefix>.published and <metaPrefix>.consumed. */
  metaPrefix: string;
}

/** A fresh run id: run-<start time, base 36>-<pid>; every run's topics and groups start with `<id>.`. */
export function newRunId(now = Date.now(), pid = process.pid): string {
  return `run-${now.toString(36)}-${pid}`;
}

export const runMetaPrefix = (runId: string) => `${runId}.meta`;

const RUN_META_TOPIC = /^(run-([0-9a-z]+)-(\d+))\.meta\.(published|consumed)$/;

/** The runs whose meta topics are among `topics`, newest first (by start time, then pid). */
export function runsOf(topics: Iterable<string>): RunRef[] {
  const runs = new Map<string, RunRef & { pid: number }>();
  for (const t of topics) {
    const m = RUN_META_TOPIC.exec(t);
    if (!m) continue;
    const startedMs = parseInt(m[2], 36);
    if (!Number.isSafeInteger(startedMs)) continue;
    runs.set(m[1], { runId: m[1], startedMs, metaPrefix: runMetaPrefix(m[1]), pid: Number(m[3]) });
  }
  return [...runs.values()]
    .sort((a, b) => b.startedMs - a.startedMs || b.pid - a.pid)
    .map(({ runId, startedMs, metaPrefix }) => ({ runId, startedMs, metaPrefix }));
}

/** The newest run whose meta topics exist on the cluster, or undefined when there is none. */
export async function latestRun(kafka: Kafka): Promise<RunRef | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return runsOf(await admin.listTopics())[0];
  } finally {
    await admin.disconnect();
  }
}
