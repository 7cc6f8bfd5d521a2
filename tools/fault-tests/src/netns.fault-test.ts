// docs/SCALING.md §9, "Network cut": a mean-rating-processor on a host of its own (a network namespace,
// linked to this host by a veth pair; the test's own broker listens on this host's end of it) loses its
// link mid-stream for longer than the session timeout, and gets it back. Its partitions move to the processor
// on this host, which fences it; once back, it rejoins with a stale local state. The results stay exact, and a
// fresh instance rebuilds every partition exactly from the changelog alone. Needs root and iproute2 (`ip`).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerLag } from '@movie-stream/messaging';
import { buildApps, PipelineRun, ServiceProcess } from '@movie-stream/pipeline';
import { KafkaCluster, until } from '@movie-stream/test-support';
import { dataset, drained, expectChangelogRebuildsExactly, meanMismatches, Processors } from './harness';

jest.setTimeout(600_000);

// Namespaces of this test are `msnet-<pid of the jest worker, base 36>-<6 hex>`; their host-side veth is
// `msn<6 hex>h`. A namespace whose creator is gone is a leftover of a crashed run, removed at the start.
const PREFIX = 'msnet-';

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and veth links)';
  if (spawnSync('ip', ['-V']).status !== 0) return "needs iproute2's `ip` on PATH";
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces (their processes and veth pairs) of earlier runs of this test whose process is gone. */
function removeLeftovers(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const m = /^(msnet-([0-9a-z]+)-([0-9a-f]{6}))\b/.exec(line);
    if (!m || alive(parseInt(m[2], 36))) continue;
    removeNet({ ns: m[1], hostIf: `msn${m[3]}h` });
  }
}

interface Net {
  ns: string;
  hostIf: string;
  nsIf?: string;
  hostAddr?: string;
}

function removeNet(net: Net): void {
  // Processes still in the namespace are this test's processors (a crashed run's, or this run's on failure).
  const pids = spawnSync('ip', ['netns', 'pids', net.ns], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Deleting one end deletes the pair at once; the namespace itself goes when its last process has.
  spawnSync('ip', ['link', 'del', net.hostIf]);
  spawnSync('ip', ['netns', 'del', net.ns]);
}

/** A namespace and a veth pair in a /30 of 10.231.0.0/16 that no interface of this host uses yet. */
function createNet(): Required<Net> {
  const used = ip('-4', '-o', 'addr') + ip('-4', 'route');
  const free = Array.from({ length: 256 }, (_, i) => i).filter((x) => !used.includes(`10.231.${x}.`));
  if (free.length === 0) throw new Error('no free 10.231.x.0/30 on this host');
  const x = free[randomBytes(1)[0] % free.length];
  const tag = randomBytes(3).toString('hex');
  const net = { ns: `${PREFIX}${process.pid.toString(36)}-${tag}`, hostIf: `msn${tag}h`, nsIf: `msn${tag}n`, hostAddr: `10.231.${x}.1` };
  ip('netns', 'add', net.ns);
  try {
    // The peer is created inside the namespace: no moment where it sits on this host.
    ip('link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', net.nsIf, 'netns', net.ns);
    ip('addr', 'add', `${net.hostAddr}/30`, 'dev', net.hostIf);
    ip('link', 'set', net.hostIf, 'up');
    ip('-n', net.ns, 'addr', 'add', `10.231.${x}.2/30`, 'dev', net.nsIf);
    ip('-n', net.ns, 'link', 'set', net.nsIf, 'up');
    ip('-n', net.ns, 'link', 'set', 'lo', 'up'); // the service's /healthz binds 127.0.0.1
  } catch (e) {
    removeNet(net);
    throw e;
  }
  return net;
}

const reason = whyNot();
const name = 'a processor in a network namespace loses its link past the session timeout';
if (reason) process.stderr.write(`skipped "${name}": ${reason}\n`);

(reason ? describe.skip : describe)(reason ? `${name} [skipped: ${reason}]` : name, () => {
  let net: Required<Net> | undefined;
  let cluster: KafkaCluster | undefined;
  let run: PipelineRun | undefined;
  const started: ServiceProcess[] = [];

  beforeAll(() => {
    removeLeftovers();
    net = createNet();
    buildApps();
    cluster = new KafkaCluster({ instance: 'netns', portBase: 39400, host: net.hostAddr });
    cluster.reset(); // a fresh cluster: its address changed since the last run
    cluster.start();
  });

  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await run?.stopAll();
    if (net) removeNet(net);
    cluster?.reset();
  });

  it('the cut-off processor is fenced and rejoins with a stale state: the one that ends up with every partition is exact, and so is a rebuild from the changelog', async () => {
    const { ns, nsIf } = net as Required<Net>;
    const { ratingsFile, moviesFile } = await dataset(500_000, 5_000, 53);
    run = new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(tmpdir(), `netns-${Date.now()}`),
      brokers: (cluster as KafkaCluster).brokers,
      log: () => undefined,
      snapshotIntervalMs: 300,
    });
    run.cleanOutput();
    await run.createTopics(6);
    const r = run;
    const procs = new Processors(r, (s) => started.push(s));
    procs.start('host');
    procs.start('ns', ['ip', 'netns', 'exec', ns]);
    // Both hold partitions (each logged a claim) before any rating is published.
    expect(await until(() => (procs.check(['host', 'ns']), ['host', 'ns'].every((n) => procs.restores(n).length > 0)), 120_000, 100)).toBe(
      true,
    );
    const producer = r.start('rating-producer', ['--ratings', ratingsFile]);

    // Cut while the ratings still come in and once the namespaced processor has committed work of its own.
    const nsPartitions = new Set(procs.lastJoin('ns')?.partitions);
    const progress = async (): Promise<{ total: number; ns: number }> => {
      const admin = r.kafka.admin();
      await admin.connect();
      try {
        const lags = await consumerLag(admin, r.groups.processor, [r.topics.ratings]);
        const sum = (ls: typeof lags) => ls.reduce((s, l) => s + l.committed, 0);
        return { total: sum(lags), ns: sum(lags.filter((l) => nsPartitions.has(l.partition))) };
      } catch {
        return { total: 0, ns: 0 };
      } finally {
        await admin.disconnect();
      }
    };
    expect(
      await until(
        async () => {
          procs.check(['host', 'ns']);
          const p = await progress();
          return p.ns > 20_000 && p.total > 50_000;
        },
        120_000,
        50,
      ),
    ).toBe(true);
    if (producer.child.exitCode !== null) throw new Error('the producer finished before the cut: the test needs more ratings');
    const hostBefore = procs.log('host').length;
    const hostRestoresBefore = procs.restores('host').length;
    const nsBefore = procs.log('ns').length;
    ip('-n', ns, 'link', 'set', nsIf, 'down');
    process.stdout.write(`link cut at ${JSON.stringify(await progress())} ratings committed (total, namespaced processor's partitions)\n`);

    // The link stays down until the processor on this host owns every partition (the other's session expired).
    const tookOver = await until(() => (procs.check(['host', 'ns']), procs.ownsAll('host', hostBefore)), 120_000, 100);
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    expect(tookOver).toBe(true);
    // The partitions it took over came from the changelog, not by replaying ratings.
    expect(await until(() => procs.restores('host').length >= hostRestoresBefore + nsPartitions.size, 60_000, 100)).toBe(true);
    const taken = procs.restores('host').slice(hostRestoresBefore, hostRestoresBefore + nsPartitions.size);
    process.stdout.write(`during the cut, this host claimed: ${JSON.stringify(taken)}\n`);
    expect(taken.map((t) => t.partition).sort()).toEqual([...nsPartitions].sort());
    expect(taken.every((t) => t.source === 'changelog')).toBe(true);

    // Back on the network, the namespaced processor finds it was evicted and rejoins; the sticky assigner hands
    // it half the partitions again, which it brings forward from its stale local state plus the changelog.
    const nsRestoresBefore = procs.restores('ns').length;
    expect(await until(() => (procs.check(['host', 'ns']), procs.restores('ns').length > nsRestoresBefore), 120_000, 100)).toBe(true);
    const woke = procs.log('ns').slice(nsBefore);
    const reclaimed = procs.restores('ns').slice(nsRestoresBefore);
    process.stdout.write(
      `after the link came back: ${woke.split('was fenced by a newer owner').length - 1} partition(s) fenced; restored ${JSON.stringify(reclaimed)}\n`,
    );
    expect(reclaimed.every((x) => x.source !== 'replay')).toBe(true);

    expect((await r.producerResult('rating-producer')).published).toBe(500_000);
    // The processor that was cut off ends up with every partition: stop the other.
    const nsBeforeStop = procs.log('ns').length;
    procs.instances.get('host')?.child.kill('SIGTERM');
    expect((await procs.instances.get('host')?.exited)?.code).toBe(0);
    expect(await until(() => (procs.check(['ns']), procs.ownsAll('ns', nsBeforeStop)), 120_000, 100)).toBe(true);
    await drained(r, procs, ['ns']);
    procs.instances.get('ns')?.child.kill('SIGTERM');
    expect((await procs.instances.get('ns')?.exited)?.code).toBe(0);
    expect(await meanMismatches(join(procs.dir('ns'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);

    await expectChangelogRebuildsExactly(r, procs, ratingsFile);
  });
});
