// A rolling restart of a run's consumers: every processor and sink instance restarted one at a time (SIGTERM,
// wait for its exit, start it again, wait until it has claimed partitions again). Used by the bench's
// --rolling-restart and by the rolling-restart fault test; the schedule and "claimed" are pure (tested beside).
import { describeGroup, type GroupView, withAdmin } from '@movie-stream/messaging';
import { type ConsumerApp } from './apps';
import { type PipelineRun } from './pipeline-run';

export interface RestartStep {
  app: ConsumerApp;
  instance: number;
}

/** One restart done: the time from SIGTERM to claimed (ms), and the old process's exit code. */
export interface RestartResult extends RestartStep {
  ms: number;
  exitCode: number | null;
}

/** The order of the restarts: every processor instance, then every sink instance, each index once. */
export function restartSchedule(processors: number, sinks: number): RestartStep[] {
  return [
    ...Array.from({ length: processors }, (_, instance) => ({ app: 'mean-rating-processor' as const, instance })),
    ...Array.from({ length: sinks }, (_, instance) => ({ app: 'movie-data-sink' as const, instance })),
  ];
}

/**
 * Whether a restarted instance has claimed its partitions again: the group is Stable with `running` members, one
 * of them new (not among `before`, the members before the stop: a restarted instance has a new member id, also
 * a static member, whose new id replaces the old one; the others keep theirs), the new member holds partitions,
 * and every partition 0..partitions-1 is assigned. The group's own view, not the instance's log or /healthz:
 * it is what decides who consumes, and it reads the same for both apps.
 */
export function claimed(view: GroupView, o: { running: number; before: ReadonlySet<string>; partitions: number }): boolean {
  if (view.state !== 'Stable' || view.members.length !== o.running) return false;
  const fresh = view.members.filter((m) => !o.before.has(m.memberId));
  if (fresh.length === 0) return false;
  if (o.partitions >= o.running && fresh.every((m) => m.partitions.length === 0)) return false;
  const assigned = new Set(view.members.flatMap((m) => m.partitions));
  for (let p = 0; p < o.partitions; p++) if (!assigned.has(p)) return false;
  return true;
}

/**
 * One step of a rolling restart: records the group's members, restarts the instance (PipelineRun.restart: a
 * graceful stop, then the same instance again) and waits until it has claimed (see `claimed`). Fails when a
 * consumer died meanwhile or the instance had not claimed within `claimTimeoutMs`.
 */
export function restartUntilClaimed(
  pr: PipelineRun,
  step: RestartStep,
  o: { partitions: number; claimTimeoutMs?: number; stopTimeoutMs?: number },
): Promise<RestartResult> {
  return withAdmin(pr.kafka, async (admin) => {
    const group = pr.layout.consumers[step.app].group;
    const before = new Set((await describeGroup(admin, group)).members.map((m) => m.memberId));
    const t0 = performance.now();
    const { exitCode } = await pr.restart(step.app, step.instance, o.stopTimeoutMs);
    const deadline = Date.now() + (o.claimTimeoutMs ?? 120_000);
    for (;;) {
      pr.checkConsumers('during the rolling restart');
      const view = await describeGroup(admin, group).catch(() => undefined);
      if (view && claimed(view, { running: pr.instances(step.app).length, before, partitions: o.partitions })) break;
      if (Date.now() > deadline) throw new Error(`${step.app} instance ${step.instance} had not claimed partitions again after restarting`);
      await new Promise((res) => setTimeout(res, 100));
    }
    return { ...step, ms: performance.now() - t0, exitCode };
  });
}

export interface RollingRestart {
  /** Resolves once every step is done (or the first failed one rejects). */
  done: Promise<void>;
  /** Restarts completed. */
  readonly completed: number;
  readonly steps: RestartResult[];
}

/**
 * Runs the schedule in the background, one restartUntilClaimed after the other. `onReplaced` sees each step
 * before its instance is stopped (the process replaced: its usage and result line still count).
 */
export function startRollingRestart(o: {
  pr: PipelineRun;
  schedule: RestartStep[];
  partitions: number;
  claimTimeoutMs?: number;
  onReplaced?: (step: RestartStep) => void;
  log: (line: string) => void;
}): RollingRestart {
  const steps: RestartResult[] = [];
  const r = {
    steps,
    get completed() {
      return steps.length;
    },
  } as RollingRestart;
  r.done = (async () => {
    for (const step of o.schedule) {
      o.onReplaced?.(step);
      const s = await restartUntilClaimed(o.pr, step, { partitions: o.partitions, claimTimeoutMs: o.claimTimeoutMs });
      steps.push(s);
      o.log(`rolling restart: ${s.app} instance ${s.instance} back and claimed after ${Math.round(s.ms)} ms (exit ${s.exitCode})`);
    }
  })();
  r.done.catch(() => undefined); // awaited by the caller
  return r;
}
