// Loaded with NODE_OPTIONS=--require (which, unlike --cpu-prof, NODE_OPTIONS allows): samples the CPU from
// start to exit and writes CPU_PROFILE_FILE as a .cpuprofile. The main-thread inspector session answers
// synchronously, so the profile is written even on process.exit().
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const file = process.env.CPU_PROFILE_FILE;
if (file && require('node:worker_threads').isMainThread) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(file, JSON.stringify(res.profile));
    });
  });
}
