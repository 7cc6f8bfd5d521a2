// Preloaded into every service by the bench (NODE_OPTIONS=--require): at exit it writes the process's
// own getrusage figures, so CPU time and peak RSS are exact, not the last /proc sample. With
// BENCH_CPU_PROF_DIR it also CPU-profiles the main thread (Node 20 refuses --cpu-prof in NODE_OPTIONS).
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { isMainThread } = require('node:worker_threads');

const dir = process.env.BENCH_USAGE_DIR;
const profDir = process.env.BENCH_CPU_PROF_DIR;
if (isMainThread && (dir || profDir)) {
  let session;
  if (profDir) {
    const { Session } = require('node:inspector');
    session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 1000 });
    session.post('Profiler.start');
  }
  process.on('exit', () => {
    if (session) {
      // The in-process inspector answers synchronously, so this works inside 'exit'.
      session.post('Profiler.stop', (err, res) => {
        if (err) return;
        mkdirSync(profDir, { recursive: true });
        writeFileSync(join(profDir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(res.profile));
      });
    }
    if (!dir) return;
    const u = process.resourceUsage();
    try {
      writeFileSync(
        join(dir, `${process.pid}.json`),
        JSON.stringify({ pid: process.pid, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssKb: u.maxRSS }),
      );
    } catch {
      // best effort: the /proc samples remain
    }
  });
}
