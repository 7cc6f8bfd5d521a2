// Throughput check (not a test): npx tsx libs/movielens-csv/src/bench.ts [rows]
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readRatings } from './reader';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'movielens-bench-'));
  const file = path.join(dir, 'ratings.csv');
  try {
    const out = createWriteStream(file);
    let buf = 'userId,movieId,rating,timestamp\n';
    for (let i = 0; i < rows; i++) {
      buf += `${1 + (i % 700)},${1 + ((i * 7919) % 160000)},${(1 + (i % 10)) / 2},${1000000000 + i * 13}\n`;
      if (buf.length > 1 << 20 && !out.write(buf)) {
        buf = '';
        await once(out, 'drain');
      } else if (buf.length > 1 << 20) buf = '';
    }
    out.end(buf);
    await once(out, 'finish');
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const { batches, stats } = readRatings(file);
      let sum = 0;
      for await (const batch of batches) for (const r of batch) sum += r.rating;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      // CPU time too: on a busy machine wall time measures the neighbours as much as the reader.
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      console.log(
        `${stats.rowsAccepted} rows in ${s.toFixed(3)} s = ${(stats.rowsAccepted / s / 1e6).toFixed(2)} M rows/s; ` +
          `CPU ${cpu.toFixed(3)} s = ${(stats.rowsAccepted / cpu / 1e6).toFixed(2)} M rows per CPU-s (sum ${sum})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
