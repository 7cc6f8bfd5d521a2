// npx nx run <app>:profile  →  tsx tools/experiments/src/profile.ts <app> [--ratings 200000]
// Runs the whole pipeline on a fixed generated workload (fresh topics) with only <app> CPU-profiled
// (1 ms sampling); writes profiles/<app>.cpuprofile, prints the top functions by self and total time
// (tools/profile/top-functions.mjs), peak RSS and heap used over time (profiles/<app>.memory.json).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@movie-stream/config';
import { generateDataset } from '@movie-stream/data-generator';
import { APPS, AppName, buildApps, configEnv, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import { freePort } from '@movie-stream/test-support';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { ratings: { type: 'string', default: '200000' } }, allowPositionals: true });
  const app = positionals[0] as AppName;
  if (!APPS.includes(app)) throw new Error(`usage: profile.ts <${APPS.join('|')}> [--ratings N]`);
  const profiles = join(REPO_ROOT, 'profiles');
  mkdirSync(profiles, { recursive: true });
  const cpuFile = join(profiles, `${app}.cpuprofile`);
  rmSync(cpuFile, { force: true });
  buildApps();
  const data = await generateDataset({
    ratings: Number(values.ratings),
    movies: 5000,
    outDir: mkdtempSync(join(tmpdir(), 'profile-data-')),
  });
  const port = await freePort();
  const { brokers } = loadConfig(['brokers'], []);

  const run = new PipelineRun({
    ratingsFile: data.ratingsFile,
    moviesFile: data.moviesFile,
    outDir: mkdtempSync(join(tmpdir(), 'profile-out-')),
    brokers,
    // Only the profiled app: --cpu-prof is refused in NODE_OPTIONS; a preloaded inspector session does the same.
    appEnv: (a) =>
      a !== app
        ? {}
        : {
            ...configEnv({ httpPort: port }),
            NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-preload.cjs')}`,
            CPU_PROFILE_FILE: cpuFile,
          },
  });

  // RSS from /proc (VmRSS, VmHWM = peak), heap used from the service's own /metrics.
  const samples: { s: number; rssMb: number; heapUsedMb?: number }[] = [];
  let peakRssMb = 0;
  const t0 = Date.now();
  const timer = setInterval(async () => {
    const pid = run.service(app)?.child.pid;
    if (!pid || !existsSync(`/proc/${pid}/status`)) return;
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // exited between the check and the read
    }
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    peakRssMb = Math.max(peakRssMb, kb('VmHWM') / 1024);
    const heap = await fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .then((t) => Number(/^nodejs_heap_size_used_bytes\{[^}]*\} (\S+)/m.exec(t)?.[1]))
      .catch(() => undefined);
    samples.push({
      s: Math.round((Date.now() - t0) / 100) / 10,
      rssMb: Math.round(kb('VmRSS') / 1024),
      heapUsedMb: heap ? Math.round(heap / 2 ** 20) : undefined,
    });
  }, 500);
  const summary = await run.run().finally(() => clearInterval(timer));
  process.stdout.write(`${app}: ${summary.ratings.published} ratings through the pipeline in ${summary.elapsedSeconds.toFixed(1)} s\n`);
  if (!existsSync(cpuFile)) throw new Error(`${cpuFile} was not written (did ${app} exit gracefully?)`);
  spawnSync(process.execPath, [join(REPO_ROOT, 'tools', 'profile', 'top-functions.mjs'), cpuFile, '15'], { stdio: 'inherit' });
  const heapPeak = Math.max(0, ...samples.map((s) => s.heapUsedMb ?? 0));
  process.stdout.write(
    `\npeak RSS ${peakRssMb.toFixed(0)} MiB, peak heap used ${heapPeak} MiB (sampled every 0.5 s)\n  s     RSS MiB  heap MiB\n`,
  );
  // Every ~2 s is enough to see the shape.
  for (const s of samples.filter((_, i) => i % 4 === 0))
    process.stdout.write(`${String(s.s).padStart(5)}  ${String(s.rssMb).padStart(8)}  ${String(s.heapUsedMb ?? '').padStart(8)}\n`);
  writeFileSync(
    join(profiles, `${app}.memory.json`),
    JSON.stringify({ app, ratings: summary.ratings.published, peakRssMb, heapPeakMb: heapPeak, samples }, null, 1) + '\n',
  );
  process.stdout.write(`\nprofile: ${cpuFile} (open in Chrome DevTools › Performance, or speedscope)\n`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`profile failed: ${e.message}\n`);
    process.exit(1);
  },
);
