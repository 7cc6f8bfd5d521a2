// Preloaded into every service by the bench (NODE_OPTIONS=--require): at exit it writes the process's
// own getrusage figures, so CPU time and peak RSS are exact, not the last /proc sample.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { isMainThread } = require('node:worker_threads');

const dir = process.env.BENCH_USAGE_DIR;
if (dir && isMainThread) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    try {
      writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ pid: process.pid, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssKb: u.maxRSS }));
    } catch {
      // best effort: the /proc samples remain
    }
  });
}
